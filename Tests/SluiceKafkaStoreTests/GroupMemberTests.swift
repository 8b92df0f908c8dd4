import Foundation
import SluiceKafka
import SluiceTestBrokers
import XCTest

@testable import SluiceKafkaStore

/// Records what a member's owner is told.
actor RebalanceLog {
  private(set) var events: [RebalanceEvent] = []
  func add(_ event: RebalanceEvent) { events.append(event) }
}

/// A classic group member against Sluice's listener (Tansu takes ~23 s per assignment).
final class GroupMemberTests: XCTestCase {
  func testMembersSharePartitionsAndRebalanceWithCallbacks() async throws {
    let broker = try BrokerProcess(.sluice)
    try broker.start()
    // One client per member, as one consumer per process would have: a broker serves one
    // request at a time per connection, so a JoinGroup held for a rebalance would hold the
    // other member's heartbeats and rejoin behind it on a shared connection.
    let client = testClient(broker)
    let client2 = testClient(broker)
    defer { broker.stop() }
    try await client.createTopics([NewTopic(name: "sink-input", partitions: 4)])
    let all = (Int32(0)..<4).map { KafkaTopicPartition("sink-input", $0) }

    let log1 = RebalanceLog()
    let first = ConsumerGroupMember(
      client: client, groupId: "sinks", topics: ["sink-input"],
      heartbeatInterval: .milliseconds(200), onRebalance: { await log1.add($0) })
    let assigned = try await first.join()
    XCTAssertEqual(assigned, all)
    try await first.commit([all[0]: 10, all[3]: 7])
    let committed = try await first.committed(all)
    XCTAssertEqual(committed, [all[0]: 10, all[3]: 7])

    let log2 = RebalanceLog()
    let second = ConsumerGroupMember(
      client: client2, groupId: "sinks", topics: ["sink-input"], assignor: .range,
      heartbeatInterval: .milliseconds(200), onRebalance: { await log2.add($0) })
    let secondAssignment = try await second.join()
    XCTAssertEqual(secondAssignment.count, 2)

    // The first member learns of the rebalance from its heartbeat, gives everything back and
    // gets the other half.
    let deadline = ContinuousClock.now + .seconds(15)
    while await first.assignment.count != 2 && ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(100))
    }
    let firstAssignment = await first.assignment
    XCTAssertEqual(Set(firstAssignment + secondAssignment), Set(all))
    let events1 = await log1.events
    XCTAssertEqual(events1.first, .assigned(all))
    XCTAssertTrue(events1.contains(.revoked(all)), "\(events1)")
    XCTAssertEqual(events1.last, .assigned(firstAssignment))
    let events2 = await log2.events
    XCTAssertEqual(events2, [.assigned(secondAssignment)])

    // The committed offsets outlive the rebalance.
    let after = try await second.committed(all)
    XCTAssertEqual(after, [all[0]: 10, all[3]: 7])

    await second.leave()
    let left = await log2.events
    XCTAssertEqual(left.last, .revoked(secondAssignment))
    await first.leave()
    await client.close()
    await client2.close()
  }
}

extension GroupMemberTests {
  /// A member subscribed to a topic that does not exist yet holds nothing; once the topic is
  /// created, the member sees it in its metadata check, rejoins and is assigned its partitions.
  func testAMemberRejoinsWhenItsTopicsPartitionsChange() async throws {
    let broker = try BrokerProcess(.sluice)
    try broker.start()
    defer { broker.stop() }
    let client = testClient(broker)
    let log = RebalanceLog()
    let member = ConsumerGroupMember(
      client: client, groupId: "late-sinks", topics: ["late-topic"],
      heartbeatInterval: .milliseconds(200), metadataCheckInterval: .milliseconds(500),
      onRebalance: { await log.add($0) })
    let first = try await member.join()
    XCTAssertEqual(first, [])
    try await testClient(broker).createTopics([NewTopic(name: "late-topic", partitions: 3)])
    let deadline = ContinuousClock.now + .seconds(15)
    while await member.assignment.count != 3 && ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(100))
    }
    let assigned = await member.assignment
    XCTAssertEqual(assigned, (Int32(0)..<3).map { KafkaTopicPartition("late-topic", $0) })
    let events = await log.events
    XCTAssertEqual(events.last, .assigned(assigned), "\(events)")
    await member.leave()
  }
}
