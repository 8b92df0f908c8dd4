import Foundation
import SluiceCore
import XCTest

@testable import SluiceLog

/// The embedded store's consumer: reads from where it is told, long-polls, shares a group's
/// partitions with a revocation acknowledged before the next member reads them, and commits
/// offsets that a later member of the group starts from.
final class EmbeddedConsumerTests: LogTestCase {
  private var log: EmbeddedLog!
  private var store: EmbeddedTopicStore!

  override func setUpWithError() throws {
    try super.setUpWithError()
    log = try EmbeddedLog(directory: directory + "/log")
    store = EmbeddedTopicStore(
      log: log, defaultPartitions: 1,
      groupOffsets: try FileOffsetStore(directory: directory + "/offsets"))
  }

  override func tearDownWithError() throws {
    log.close()
    try super.tearDownWithError()
  }

  private func fill(partitions: Int, records: Int) async throws {
    try await store.createTopic("t", partitions: partitions)
    for p in 0..<partitions {
      _ = try await store.append(
        (0..<records).map { OutgoingRecord(key: nil, value: Array("\(p)-\($0)".utf8)) },
        to: TopicPartition("t", p))
    }
  }

  func testAnAssignedConsumerReadsFromItsSeekAndWaitsForAppends() async throws {
    try await fill(partitions: 1, records: 5)
    let tp = TopicPartition("t", 0)
    let consumer = try await store.makeConsumer(group: nil, member: "x")
    await consumer.assign([tp])
    await consumer.seek(tp, to: 3)
    let first = try await consumer.poll(maxRecords: 100, maxBytes: 1 << 20, timeout: .zero)
    XCTAssertEqual(first.records.map(\.offset), [3, 4])
    let store = self.store!
    Task {
      try await Task.sleep(for: .milliseconds(200))
      _ = try await store.append([OutgoingRecord(key: nil, value: [1])], to: tp)
    }
    let started = ContinuousClock.now
    let next = try await consumer.poll(maxRecords: 100, maxBytes: 1 << 20, timeout: .seconds(10))
    XCTAssertEqual(next.records.map(\.offset), [5])
    XCTAssertLessThan(ContinuousClock.now - started, .seconds(5), "woken by the append")
    await consumer.close()
  }

  func testTwoMembersSplitTheTopicAndEachRecordIsReadOnce() async throws {
    try await fill(partitions: 4, records: 50)
    let a = try await store.makeConsumer(group: "g", member: "0")
    try await a.subscribe(["t"])
    let first = try await a.poll(maxRecords: 1000, maxBytes: 1 << 20, timeout: .zero)
    XCTAssertEqual(first.assigned.count, 4)
    let b = try await store.makeConsumer(group: "g", member: "1")
    try await b.subscribe(["t"])
    var read: [String: Set<Int64>] = [:]
    var owned: [String: Set<TopicPartition>] = ["0": Set(first.assigned), "1": []]
    for _ in 0..<20 {
      for (name, consumer) in [("0", a), ("1", b)] {
        let poll = try await consumer.poll(maxRecords: 30, maxBytes: 1 << 20, timeout: .zero)
        owned[name]!.subtract(poll.revoked)
        // A member is given a partition only after the other let go of it.
        for tp in poll.assigned {
          XCTAssertFalse(owned.values.contains { $0.contains(tp) }, "\(tp) has two owners")
        }
        owned[name]!.formUnion(poll.assigned)
        for tp in poll.assigned { await consumer.seek(tp, to: 0) }
        for record in poll.records {
          XCTAssertTrue(owned[name]!.contains(record.topicPartition))
          read["\(record.topicPartition)", default: []].insert(record.offset)
        }
      }
    }
    XCTAssertEqual(owned["0"]!.count, 2)
    XCTAssertEqual(owned["1"]!.count, 2)
    XCTAssertEqual(read.count, 4)
    for (_, offsets) in read { XCTAssertEqual(offsets, Set(0..<50)) }
    await a.close()
    await b.close()
  }

  func testCommittedOffsetsAreWhereTheNextMemberStarts() async throws {
    try await fill(partitions: 1, records: 10)
    let tp = TopicPartition("t", 0)
    let first = try await store.makeConsumer(group: "g", member: "0")
    try await first.subscribe(["t"])
    _ = try await first.poll(maxRecords: 1, maxBytes: 1 << 20, timeout: .zero)
    try await first.commit([tp: 7])
    await first.close()
    let second = try await store.makeConsumer(group: "g", member: "0")
    try await second.subscribe(["t"])
    let committed = try await second.committed([tp])
    XCTAssertEqual(committed, [tp: 7])
    let change = try await second.poll(maxRecords: 100, maxBytes: 1 << 20, timeout: .zero)
    XCTAssertEqual(change.assigned, [tp])
    // Without a seek, an assigned partition starts at the group's committed offset.
    let records = try await second.poll(maxRecords: 100, maxBytes: 1 << 20, timeout: .zero)
    XCTAssertEqual(records.records.map(\.offset), [7, 8, 9])
    await second.close()
  }

  func testAPositionRemovedByRetentionIsReportedAndMovedToTheStart() async throws {
    let log = try EmbeddedLog(
      directory: directory + "/small",
      configuration: LogConfiguration(segmentBytes: 1024, retentionBytes: 2048))
    defer { log.close() }
    let store = EmbeddedTopicStore(
      log: log, defaultPartitions: 1,
      groupOffsets: try FileOffsetStore(directory: directory + "/small-offsets"))
    let tp = TopicPartition("t", 0)
    try await store.createTopic("t", partitions: 1)
    for i in 0..<40 {
      _ = try await store.append(
        [OutgoingRecord(key: nil, value: [UInt8](repeating: UInt8(i), count: 200))], to: tp)
    }
    XCTAssertGreaterThan(try log.enforceRetention(nowMs: 0), 0)
    let start = try await store.offsets(of: tp).start
    XCTAssertGreaterThan(start, 0)
    let consumer = try await store.makeConsumer(group: nil, member: "x")
    await consumer.assign([tp])
    await consumer.seek(tp, to: 0)
    let poll = try await consumer.poll(maxRecords: 5, maxBytes: 1 << 20, timeout: .zero)
    XCTAssertEqual(poll.skipped.map(\.to), [start])
    let next = try await consumer.poll(maxRecords: 5, maxBytes: 1 << 20, timeout: .zero)
    XCTAssertEqual(next.records.first?.offset, start)
    await consumer.close()
  }
}
