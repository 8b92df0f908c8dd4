import XCTest

@testable import SluiceKafka

/// Requests encoded by a real client (kafka-python 3.0.12, Fixtures/make-fixtures.py) decode to
/// the values it was given and re-encode to the same bytes.
final class KafkaConformanceTests: XCTestCase {
  /// Parses a fixture's header, decodes its body, and checks that header + body re-encode to the
  /// fixture's bytes.
  func decode<Request: KafkaRequestMessage>(
    _ name: String, as _: Request.Type, version: Int16, correlationId: Int32,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> Request {
    let bytes = try Fixture.bytes(name)
    let frame = try RequestFrame(parsing: bytes)
    XCTAssertEqual(frame.apiKey, Request.apiKey, file: file, line: line)
    XCTAssertEqual(frame.apiVersion, version, file: file, line: line)
    XCTAssertEqual(frame.correlationId, correlationId, file: file, line: line)
    XCTAssertEqual(frame.clientId, "sluice-fixtures", file: file, line: line)
    XCTAssertTrue(frame.isDecodable, file: file, line: line)
    let request = try frame.decodeBody(as: Request.self)
    var rest = frame.body
    _ = try Request(from: &rest, version: version)
    XCTAssertTrue(rest.isAtEnd, "bytes left after the body", file: file, line: line)

    // The generic path gives the same value.
    let body = try frame.decodeBody()
    XCTAssertEqual(body.apiKey, Request.apiKey, file: file, line: line)

    var writer = KafkaWriter()
    RequestHeader(
      requestApiKey: Request.apiKey.rawValue, requestApiVersion: version,
      correlationId: correlationId,
      clientId: "sluice-fixtures"
    ).write(to: &writer, version: Request.apiKey.requestHeaderVersion(for: version))
    request.write(to: &writer, version: version)
    XCTAssertEqual(
      writer.bytes, bytes, "re-encoding differs from kafka-python's bytes", file: file, line: line)
    var bodyWriter = KafkaWriter()
    body.write(to: &bodyWriter, version: version)
    XCTAssertEqual(bodyWriter.bytes, frame.body.remainingBytes, file: file, line: line)
    return request
  }

  func testApiVersionsV3FromKafkaPython() throws {
    let request = try decode(
      "api-versions-v3", as: ApiVersionsRequest.self, version: 3, correlationId: 1)
    XCTAssertEqual(request.clientSoftwareName, "kafka-python")
    XCTAssertEqual(request.clientSoftwareVersion, "3.0.12")
    XCTAssertEqual(ApiKey.apiVersions.requestHeaderVersion(for: 3), 2)
  }

  func testMetadataV12FromKafkaPython() throws {
    let request = try decode(
      "metadata-v12", as: MetadataRequest.self, version: 12, correlationId: 2)
    XCTAssertEqual(request.topics?.map(\.name), ["orders", "payments"])
    XCTAssertEqual(request.topics?.first?.topicId, .zero)
    XCTAssertTrue(request.allowAutoTopicCreation)
    XCTAssertFalse(request.includeTopicAuthorizedOperations)
  }

  func testProduceV9KeepsTheRecordBatchBytesAsSent() throws {
    let request = try decode("produce-v9", as: ProduceRequest.self, version: 9, correlationId: 3)
    XCTAssertNil(request.transactionalId)
    XCTAssertEqual(request.acks, -1)
    XCTAssertEqual(request.timeoutMs, 30000)
    XCTAssertEqual(request.topicData.map(\.name), ["orders"])
    let partition = try XCTUnwrap(request.topicData.first?.partitionData.first)
    XCTAssertEqual(partition.index, 0)
    let batch = try XCTUnwrap(partition.records)
    // RecordBatch v2: baseOffset (8), batchLength (4), partitionLeaderEpoch (4), magic (1).
    XCTAssertGreaterThan(batch.count, 61)
    XCTAssertEqual(batch[16], 2, "magic byte")
    var reader = KafkaReader(batch)
    XCTAssertEqual(try reader.readInt64(field: "baseOffset"), 0)
    XCTAssertEqual(Int(try reader.readInt32(field: "batchLength")), batch.count - 12)
    // The record count (INT32 at byte 57) is 2.
    XCTAssertEqual(Array(batch[57..<61]), [0, 0, 0, 2])
  }

  func testFetchV12FromKafkaPython() throws {
    let request = try decode("fetch-v12", as: FetchRequest.self, version: 12, correlationId: 4)
    XCTAssertEqual(request.replicaId, -1)
    XCTAssertEqual(request.maxWaitMs, 500)
    XCTAssertEqual(request.minBytes, 1)
    XCTAssertEqual(request.maxBytes, 52_428_800)
    XCTAssertEqual(request.isolationLevel, 0)
    XCTAssertEqual(request.sessionId, 0)
    XCTAssertEqual(request.sessionEpoch, -1)
    XCTAssertNil(request.clusterId)
    XCTAssertEqual(request.rackId, "")
    XCTAssertEqual(request.forgottenTopicsData, [])
    let topic = try XCTUnwrap(request.topics.first)
    XCTAssertEqual(topic.topic, "orders")
    XCTAssertEqual(
      topic.partitions,
      [
        .init(
          partition: 0, currentLeaderEpoch: -1, fetchOffset: 42, lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: 1_048_576)
      ])
  }

  func testJoinGroupV7FromKafkaPython() throws {
    let request = try decode(
      "join-group-v7", as: JoinGroupRequest.self, version: 7, correlationId: 5)
    XCTAssertEqual(request.groupId, "sluice-group")
    XCTAssertEqual(request.sessionTimeoutMs, 10000)
    XCTAssertEqual(request.rebalanceTimeoutMs, 300_000)
    XCTAssertEqual(request.memberId, "")
    XCTAssertNil(request.groupInstanceId)
    XCTAssertEqual(request.protocolType, "consumer")
    XCTAssertEqual(request.protocols, [.init(name: "range", metadata: [0, 1, 2])])
  }

  func testSyncGroupV5FromKafkaPython() throws {
    let request = try decode(
      "sync-group-v5", as: SyncGroupRequest.self, version: 5, correlationId: 6)
    XCTAssertEqual(request.groupId, "sluice-group")
    XCTAssertEqual(request.generationId, 3)
    XCTAssertEqual(request.memberId, "member-1")
    XCTAssertNil(request.groupInstanceId)
    XCTAssertEqual(request.protocolType, "consumer")
    XCTAssertEqual(request.protocolName, "range")
    XCTAssertEqual(request.assignments, [.init(memberId: "member-1", assignment: [0, 1])])
  }

  func testOffsetCommitV8FromKafkaPython() throws {
    let request = try decode(
      "offset-commit-v8", as: OffsetCommitRequest.self, version: 8, correlationId: 7)
    XCTAssertEqual(request.groupId, "sluice-group")
    XCTAssertEqual(request.generationIdOrMemberEpoch, 3)
    XCTAssertEqual(request.memberId, "member-1")
    XCTAssertNil(request.groupInstanceId)
    let partition = try XCTUnwrap(request.topics.first?.partitions.first)
    XCTAssertEqual(request.topics.first?.name, "orders")
    XCTAssertEqual(partition.partitionIndex, 0)
    XCTAssertEqual(partition.committedOffset, 43)
    XCTAssertEqual(partition.committedLeaderEpoch, -1)
    XCTAssertEqual(partition.committedMetadata, "")
  }

  func testFindCoordinatorV4FromKafkaPython() throws {
    let request = try decode(
      "find-coordinator-v4", as: FindCoordinatorRequest.self, version: 4, correlationId: 8)
    XCTAssertEqual(request.keyType, 0)
    XCTAssertEqual(request.coordinatorKeys, ["sluice-group"])
  }

  func testCreateTopicsV7FromKafkaPython() throws {
    let request = try decode(
      "create-topics-v7", as: CreateTopicsRequest.self, version: 7, correlationId: 9)
    XCTAssertEqual(request.timeoutMs, 30000)
    XCTAssertFalse(request.validateOnly)
    let topic = try XCTUnwrap(request.topics.first)
    XCTAssertEqual(topic.name, "orders")
    XCTAssertEqual(topic.numPartitions, 3)
    XCTAssertEqual(topic.replicationFactor, 1)
    XCTAssertEqual(topic.assignments, [])
    XCTAssertEqual(topic.configs, [.init(name: "cleanup.policy", value: "compact")])
  }

  /// The response side: kafka-python's ApiVersions v3 response (header v0 although flexible).
  func testApiVersionsV3ResponseMatchesKafkaPythonWithAVersion0Header() throws {
    let bytes = try Fixture.bytes("api-versions-v3-response")
    var reader = KafkaReader(bytes)
    let header = try ResponseHeader(from: &reader, version: 0)
    XCTAssertEqual(header.correlationId, 1)
    let response = try ApiVersionsResponse(from: &reader, version: 3)
    XCTAssertTrue(reader.isAtEnd)
    XCTAssertEqual(response.errorCode, 0)
    XCTAssertEqual(
      response.apiKeys,
      [
        .init(apiKey: 0, minVersion: 0, maxVersion: 11),
        .init(apiKey: 18, minVersion: 0, maxVersion: 4),
      ])
    let frame = ResponseFrame.encode(response, version: 3, correlationId: 1)
    XCTAssertEqual(Array(frame.dropFirst(4)), bytes)
    XCTAssertEqual(Array(frame.prefix(4)), [0, 0, 0, UInt8(bytes.count)])
  }
}
