import XCTest

@testable import SluiceKafka

/// Responses as kafka-python 3.0.12 encodes (and so decodes) them: Sluice's decoder reads them,
/// and ``ResponseFrame`` writes the same bytes, header included.
final class KafkaResponseConformanceTests: XCTestCase {
  func decode<Response: KafkaResponseMessage>(
    _ name: String, as _: Response.Type, version: Int16, correlationId: Int32,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> Response {
    let bytes = try Fixture.bytes(name)
    var reader = KafkaReader(bytes)
    let header = try ResponseHeader(
      from: &reader, version: Response.apiKey.responseHeaderVersion(for: version))
    XCTAssertEqual(header.correlationId, correlationId, file: file, line: line)
    let response = try Response(from: &reader, version: version)
    XCTAssertTrue(reader.isAtEnd, "bytes left after the body", file: file, line: line)
    let frame = ResponseFrame.encode(response, version: version, correlationId: correlationId)
    XCTAssertEqual(
      Array(frame.dropFirst(4)), bytes, "ResponseFrame differs from kafka-python", file: file,
      line: line)
    var size = KafkaReader(frame)
    XCTAssertEqual(Int(try size.readInt32(field: "size")), bytes.count, file: file, line: line)
    return response
  }

  func testMetadataV12Response() throws {
    let response = try decode(
      "metadata-v12-response", as: MetadataResponse.self, version: 12, correlationId: 2)
    XCTAssertEqual(response.brokers, [.init(nodeId: 1, host: "127.0.0.1", port: 9092, rack: nil)])
    XCTAssertEqual(response.clusterId, "sluice")
    XCTAssertEqual(response.controllerId, 1)
    let topic = try XCTUnwrap(response.topics.first)
    XCTAssertEqual(topic.name, "orders")
    XCTAssertEqual(topic.partitions.first?.leaderId, 1)
    XCTAssertEqual(topic.partitions.first?.replicaNodes, [1])
  }

  func testProduceV9Response() throws {
    let response = try decode(
      "produce-v9-response", as: ProduceResponse.self, version: 9, correlationId: 3)
    let partition = try XCTUnwrap(response.responses.first?.partitionResponses.first)
    XCTAssertEqual(partition.baseOffset, 100)
    XCTAssertEqual(partition.logAppendTimeMs, -1)
    XCTAssertNil(partition.errorMessage)
  }

  func testFetchV12ResponseCarriesTheBatchAsIs() throws {
    let response = try decode(
      "fetch-v12-response", as: FetchResponse.self, version: 12, correlationId: 4)
    XCTAssertEqual(response.sessionId, 0)
    let partition = try XCTUnwrap(response.responses.first?.partitions.first)
    XCTAssertEqual(response.responses.first?.topic, "orders")
    XCTAssertEqual(partition.highWatermark, 2)
    XCTAssertEqual(partition.lastStableOffset, 2)
    XCTAssertNil(partition.abortedTransactions)
    let produce = try ProduceRequest(
      bytes: RequestFrame(parsing: Fixture.bytes("produce-v9")).body.remainingBytes, version: 9)
    XCTAssertEqual(partition.records, produce.topicData.first?.partitionData.first?.records)
  }

  func testJoinGroupV7Response() throws {
    let response = try decode(
      "join-group-v7-response", as: JoinGroupResponse.self, version: 7, correlationId: 5)
    XCTAssertEqual(response.generationId, 3)
    XCTAssertEqual(response.protocolName, "range")
    XCTAssertEqual(response.leader, "member-1")
    XCTAssertEqual(
      response.members, [.init(memberId: "member-1", groupInstanceId: nil, metadata: [0, 1, 2])])
  }

  func testOffsetCommitV8Response() throws {
    let response = try decode(
      "offset-commit-v8-response", as: OffsetCommitResponse.self, version: 8, correlationId: 7)
    XCTAssertEqual(response.topics.first?.partitions.first?.errorCode, 0)
  }

  func testFindCoordinatorV4Response() throws {
    let response = try decode(
      "find-coordinator-v4-response", as: FindCoordinatorResponse.self, version: 4, correlationId: 8
    )
    XCTAssertEqual(
      response.coordinators,
      [
        .init(
          key: "sluice-group", nodeId: 1, host: "127.0.0.1", port: 9092, errorCode: 0,
          errorMessage: nil)
      ])
  }
}

/// The consumer protocol's bytes inside JoinGroup and SyncGroup, as kafka-python writes them.
final class ConsumerProtocolConformanceTests: XCTestCase {
  func testSubscriptionV3FromKafkaPython() throws {
    let bytes = try Fixture.bytes("consumer-subscription-v3")
    let subscription = try ConsumerProtocolSubscription(protocolMetadata: bytes)
    XCTAssertEqual(subscription.topics, ["orders", "payments"])
    XCTAssertNil(subscription.userData)
    XCTAssertEqual(subscription.ownedPartitions, [.init(topic: "orders", partitions: [0, 1])])
    XCTAssertEqual(subscription.generationId, 4)
    XCTAssertEqual(subscription.rackId, "r1")
    XCTAssertEqual(subscription.protocolMetadata(version: 3), bytes)
  }

  func testAssignmentV3FromKafkaPython() throws {
    let bytes = try Fixture.bytes("consumer-assignment-v3")
    let assignment = try ConsumerProtocolAssignment(assignmentBytes: bytes)
    XCTAssertEqual(assignment.assignedPartitions, [.init(topic: "orders", partitions: [0, 2])])
    XCTAssertEqual(assignment.userData, [9])
    XCTAssertEqual(assignment.assignmentBytes(version: 3), bytes)
    XCTAssertEqual(
      try ConsumerProtocolAssignment(assignmentBytes: []), ConsumerProtocolAssignment())
  }

  func testNewerSubscriptionVersionsReadAsTheNewestKnown() throws {
    var bytes = try Fixture.bytes("consumer-subscription-v3")
    bytes[1] = 7
    XCTAssertEqual(try ConsumerProtocolSubscription(protocolMetadata: bytes).rackId, "r1")
    XCTAssertThrowsError(try ConsumerProtocolSubscription(protocolMetadata: [0xFF, 0xFF]))
  }
}
