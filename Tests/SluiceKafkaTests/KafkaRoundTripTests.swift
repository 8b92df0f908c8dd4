import XCTest

@testable import SluiceKafka

/// Every generated message, populated (GeneratedSamples.swift), survives write → read → write at
/// every version of the allow-list, flexible ones included.
final class KafkaRoundTripTests: XCTestCase {
  func roundTrip<Message: KafkaMessage>(_ message: Message, version: Int16) throws -> (
    bytes: [UInt8], again: [UInt8]
  ) {
    let bytes = message.bytes(version: version)
    let decoded = try Message(bytes: bytes, version: version)
    let again = decoded.bytes(version: version)
    // A decoded value is a fixed point: decoding its bytes gives it back.
    XCTAssertEqual(
      try Message(bytes: again, version: version), decoded, "\(Message.self) v\(version)")
    return (bytes, again)
  }

  func testEveryGeneratedMessageRoundTripsAtEveryVersion() throws {
    var checked = 0
    for (sample, versions) in generatedSamples {
      for version in versions {
        do {
          let (bytes, again) = try roundTrip(sample, version: version)
          XCTAssertEqual(bytes, again, "\(type(of: sample)) v\(version) re-encodes differently")
          checked += 1
        } catch {
          XCTFail("\(type(of: sample)) v\(version): \(error)")
        }
      }
    }
    XCTAssertEqual(checked, 315, "58 types × their versions")
  }

  func testFlexibleVersionsUseCompactStringsAndTaggedFields() throws {
    let request = FetchRequest(clusterId: "c", topics: [.init(topic: "t")], rackId: "r")
    // v11: not flexible, no cluster ID (it is a tagged field of v12+).
    let v11 = request.bytes(version: 11)
    XCTAssertNil(try FetchRequest(bytes: v11, version: 11).clusterId)
    // v12: the cluster ID travels as tag 0.
    let v12 = request.bytes(version: 12)
    XCTAssertEqual(try FetchRequest(bytes: v12, version: 12), request)
    XCTAssertEqual(
      Array(v12.suffix(5)), [1, 0, 2, 2, UInt8(ascii: "c")], "one tagged field: tag 0, size 2")
    // Without a cluster ID the section is empty.
    var plain = request
    plain.clusterId = nil
    XCTAssertEqual(plain.bytes(version: 12).last, 0)
  }

  func testDefaultsComeFromTheSchema() {
    let fetch = FetchRequest()
    XCTAssertEqual(fetch.replicaId, -1)
    XCTAssertEqual(fetch.maxBytes, Int32.max)
    XCTAssertEqual(fetch.sessionEpoch, -1)
    XCTAssertTrue(MetadataRequest().allowAutoTopicCreation)
    XCTAssertEqual(MetadataResponse.MetadataResponseTopic().topicAuthorizedOperations, Int32.min)
    XCTAssertEqual(ApiVersionsResponse().finalizedFeaturesEpoch, -1)
    XCTAssertNil(ProduceRequest().transactionalId)
  }

  func testFieldsAbsentFromAVersionKeepTheirDefaults() throws {
    let request = JoinGroupRequest(
      groupId: "g", sessionTimeoutMs: 1, rebalanceTimeoutMs: 2, memberId: "m", groupInstanceId: "i",
      protocolType: "consumer", protocols: [], reason: "why")
    let v0 = try JoinGroupRequest(bytes: request.bytes(version: 0), version: 0)
    XCTAssertEqual(v0.rebalanceTimeoutMs, -1, "v1+")
    XCTAssertNil(v0.groupInstanceId, "v5+")
    XCTAssertNil(v0.reason, "v8+")
    XCTAssertEqual(try JoinGroupRequest(bytes: request.bytes(version: 9), version: 9), request)
  }

  func testNilInAVersionWithoutNullIsWrittenEmpty() throws {
    // Metadata v0 has no null topic list (v1+: null means all topics): nil goes out as [].
    let request = MetadataRequest(topics: nil)
    XCTAssertEqual(request.bytes(version: 0), [0, 0, 0, 0])
    XCTAssertEqual(request.bytes(version: 1), [0xFF, 0xFF, 0xFF, 0xFF])
    XCTAssertEqual(try MetadataRequest(bytes: request.bytes(version: 1), version: 1).topics, nil)
  }

  func testConsumerProtocolMessagesRoundTrip() throws {
    let subscription = ConsumerProtocolSubscription(
      topics: ["orders"], userData: nil,
      ownedPartitions: [.init(topic: "orders", partitions: [0, 1])],
      generationId: 4, rackId: "r1")
    XCTAssertEqual(
      try ConsumerProtocolSubscription(bytes: subscription.bytes(version: 3), version: 3),
      subscription)
    let assignment = ConsumerProtocolAssignment(
      assignedPartitions: [.init(topic: "orders", partitions: [2])], userData: [9])
    XCTAssertEqual(
      try ConsumerProtocolAssignment(bytes: assignment.bytes(version: 1), version: 1), assignment)
  }
}
