import Foundation
import SluiceCompression
import SluiceCore
import SluiceTestBrokers
import XCTest

@testable import SluiceKafkaStore

/// A store on `broker` with short retries, as tests want them.
func testStore(
  _ broker: BrokerProcess, partitions: Int = 1, compression: RecordBatchCompression = .none
) -> KafkaTopicStore {
  KafkaTopicStore(
    configuration: KafkaTopicStore.Configuration(
      client: KafkaClientConfiguration(
        bootstrap: [broker.bootstrap], clientId: "sluice-store-test", requestTimeout: .seconds(10),
        retryBackoff: .milliseconds(50), retryBackoffMax: .milliseconds(500),
        retryTimeout: .seconds(20)),
      defaultPartitions: partitions, compression: compression))
}

/// The runtime's TopicStore on Tansu and on Sluice's own listener: what goes in comes back out
/// exactly, offsets and errors are the store's own.
final class KafkaTopicStoreTests: XCTestCase {
  /// With `compression`, what the store produces — appends and a source session's
  /// transactional writes — goes to the cluster in that codec (Sluice's listener keeps a
  /// producer's batches as they came, so its segment files show it) and reads back the same.
  func testACompressingStoreProducesBatchesInItsCodecAgainstBothBrokers() async throws {
    for kind in [BrokerProcess.Kind.tansu, .sluice] {
      let broker = try BrokerProcess(kind)
      try broker.start()
      defer { broker.stop() }
      let store = testStore(broker, compression: .lz4)
      try await store.start()
      try await store.createTopic("zipped", partitions: 1)
      let tp = TopicPartition("zipped", 0)
      let records = (0..<40).map {
        OutgoingRecord(
          key: Array("k\($0)".utf8), value: Array("a value that repeats \($0 % 3)".utf8))
      }
      _ = try await store.append(Array(records[..<20]), to: tp)
      let session = try await store.makeSourceSession(
        connector: "zipper", task: 0, offsets: NoOffsets())
      _ = try await session.write([(tp, Array(records[20...]))], committing: SourcePosition("1"))
      let read = try await store.read(from: tp, offset: 0, maxRecords: 100, maxBytes: 1 << 20)
      XCTAssertEqual(read.compactMap(\.key), records.compactMap(\.key), "\(kind)")
      XCTAssertEqual(read.map(\.value), records.map(\.value), "\(kind)")
      if kind == .sluice {
        // The two data batches (the transaction's marker is a control batch, uncompressed).
        let codecs = try storedBatchCodecs(
          in: broker.dataDirectory.appendingPathComponent("log/topics/zipped/0"))
        XCTAssertEqual(codecs.filter { $0 != 0 }, [3, 3], "\(codecs)")
      }
      await store.close()
    }
  }

  func testAppendReadOffsetsAndErrorsAgainstBothBrokers() async throws {
    for kind in [BrokerProcess.Kind.tansu, .sluice] {
      let broker = try BrokerProcess(kind)
      try broker.start()
      defer { broker.stop() }
      let store = testStore(broker, partitions: 2)
      try await store.start()
      try await check(store, kind)
      await store.close()
    }
  }

  private func check(_ store: KafkaTopicStore, _ kind: BrokerProcess.Kind) async throws {
    let label = "\(kind)"
    // start() made the store's own compacted topics; they are not listed as the user's.
    let own = try await store.partitionCount(of: "sluice-offsets")
    XCTAssertEqual(own, 25, label)
    XCTAssertGreaterThan(store.maxRecordBytes, 1024, label)

    let none = try await store.partitionCount(of: "orders")
    XCTAssertNil(none, label)
    try await store.createTopic("orders", partitions: 3)
    try await store.createTopic("orders", partitions: 5)  // exists: keeps its 3
    let count = try await store.partitionCount(of: "orders")
    XCTAssertEqual(count, 3, label)
    let ensured = try await store.ensureTopic("events")
    XCTAssertEqual(ensured, 2, label)

    let tp = TopicPartition("orders", 1)
    let first = [
      OutgoingRecord(
        timestamp: 1_700_000_000_123, key: Array("k1".utf8), value: Array("v1".utf8),
        headers: [RecordHeader("trace", "abc"), RecordHeader(name: "empty", value: nil)]),
      OutgoingRecord(timestamp: 1_700_000_000_124, key: nil, value: Array("v2".utf8)),
      OutgoingRecord(timestamp: 1_700_000_000_125, key: Array("k3".utf8), value: nil),
    ]
    let second = [OutgoingRecord(timestamp: 1_700_000_000_200, key: nil, value: [0, 255, 7])]
    let base1 = try await store.append(first, to: tp)
    let base2 = try await store.append(second, to: tp)
    XCTAssertEqual(base1, 0, label)
    XCTAssertEqual(base2, 3, label)

    let read = try await store.read(from: tp, offset: 0, maxRecords: 100, maxBytes: 1 << 20)
    XCTAssertEqual(read.map(\.offset), [0, 1, 2, 3], label)
    XCTAssertEqual(
      read.map {
        OutgoingRecord(timestamp: $0.timestamp, key: $0.key, value: $0.value, headers: $0.headers)
      },
      first + second, label)
    XCTAssertTrue(read.allSatisfy { $0.topic == "orders" && $0.partition == 1 }, label)
    let tail = try await store.read(from: tp, offset: 2, maxRecords: 1, maxBytes: 1 << 20)
    XCTAssertEqual(tail.map(\.offset), [2], label)
    let past = try await store.read(from: tp, offset: 4, maxRecords: 10, maxBytes: 1 << 20)
    XCTAssertEqual(past, [], label)

    let offsets = try await store.offsets(of: tp)
    XCTAssertEqual(offsets, PartitionOffsets(start: 0, end: 4), label)

    // By timestamp (ListOffsets): the first record at or after it; nil when all are older.
    // Tansu answers its earliest offset for any timestamp, so only Sluice's listener (which
    // answers as Kafka does, from its time index) is asked.
    for (timestamp, expected) in kind == .tansu
      ? []
      : [
        (Int64(0), Int64?(0)), (1_700_000_000_124, 1), (1_700_000_000_126, 3),
        (1_700_000_000_200, 3), (1_700_000_000_201, nil),
      ]
    {
      let found = try await store.firstOffset(in: tp, atOrAfter: timestamp)
      XCTAssertEqual(found, expected, "\(label) at \(timestamp)")
    }
    let topics = try await store.describeTopics()
    XCTAssertEqual(topics.map(\.name), ["events", "orders"], label)
    XCTAssertEqual(
      topics.last?.partitions,
      [PartitionOffsets(start: 0, end: 0), offsets, PartitionOffsets(start: 0, end: 0)], label)

    // Errors are the store's own.
    do {
      _ = try await store.read(from: tp, offset: -3, maxRecords: 10, maxBytes: 1 << 20)
      XCTFail("\(label): a read below the start")
    } catch TopicStoreError.offsetOutOfRange(let partition, let requested, let start, let end) {
      XCTAssertEqual(partition, tp, label)
      XCTAssertEqual([requested, start, end], [-3, 0, 4], label)
    }
    do {
      _ = try await store.append(second, to: TopicPartition("nowhere", 0))
      XCTFail("\(label): an append to an unknown topic")
    } catch TopicStoreError.unknownTopic(let name) {
      XCTAssertEqual(name, "nowhere", label)
    }
    do {
      _ = try await store.append(second, to: TopicPartition("orders", 7))
      XCTFail("\(label): an append to an unknown partition")
    } catch TopicStoreError.unknownPartition(let topic, let partition, let partitions) {
      XCTAssertEqual([topic, "\(partition)", "\(partitions)"], ["orders", "7", "3"], label)
    }
    let huge = OutgoingRecord(key: nil, value: Array(repeating: 1, count: store.maxRecordBytes + 1))
    do {
      _ = try await store.append([huge], to: tp)
      XCTFail("\(label): a record over the limit")
    } catch TopicStoreError.recordTooLarge(let size, let limit) {
      XCTAssertEqual([size, limit], [store.maxRecordBytes + 1, store.maxRecordBytes], label)
    }
    // The producer still writes after refusing (and the log did not move).
    let base3 = try await store.append(second, to: tp)
    XCTAssertEqual(base3, 4, label)
  }

  /// Two consumers of one group share a 4-partition topic: revocations come out of poll before
  /// the new assignment, commits survive the rebalance, and each record is read once. Against
  /// Sluice's listener (Tansu takes ~23 s to assign a group).
  func testConsumerPairSharesATopicThroughRebalances() async throws {
    let broker = try BrokerProcess(.sluice)
    try broker.start()
    defer { broker.stop() }
    let store = testStore(broker)
    try await store.start()
    try await store.createTopic("sink-input", partitions: 4)
    let all = (0..<4).map { TopicPartition("sink-input", $0) }
    for tp in all {
      _ = try await store.append(
        (0..<5).map { OutgoingRecord(key: nil, value: Array("\(tp.partition)-\($0)".utf8)) },
        to: tp)
    }

    let first = try await store.makeConsumer(group: "orders-sink", member: "0")
    try await first.subscribe(["sink-input"])
    var change = try await Self.pollChange(first)
    XCTAssertEqual(change.assigned, all)
    // Nothing committed yet: from the earliest offset.
    var seen = try await Self.drain(first, count: 20)
    XCTAssertEqual(seen.count, 20)
    try await first.commit(Dictionary(uniqueKeysWithValues: all.map { ($0, 5) }))
    let committed = try await first.committed(all)
    XCTAssertEqual(committed, Dictionary(uniqueKeysWithValues: all.map { ($0, 5) }))

    // A second member: the first gives everything back (eager), then each gets half.
    let second = try await store.makeConsumer(group: "orders-sink", member: "1")
    try await second.subscribe(["sink-input"])
    change = try await Self.pollChange(first)
    XCTAssertEqual(change.revoked.sorted(), all)
    XCTAssertEqual(change.assigned, [])
    let firstHalf = try await Self.pollChange(first).assigned
    let secondHalf = try await Self.pollChange(second).assigned
    XCTAssertEqual(firstHalf.count, 2)
    XCTAssertEqual(Set(firstHalf + secondHalf), Set(all))

    // New records go to whoever holds the partition, from the committed offsets on.
    for tp in all {
      _ = try await store.append(
        [OutgoingRecord(key: nil, value: Array("new-\(tp.partition)".utf8))], to: tp)
    }
    async let a = Self.drain(first, count: 2)
    async let b = Self.drain(second, count: 2)
    let (fromFirst, fromSecond) = try await (a, b)
    XCTAssertEqual(Set(fromFirst.map(\.topicPartition)), Set(firstHalf))
    XCTAssertEqual(Set(fromSecond.map(\.topicPartition)), Set(secondHalf))
    XCTAssertTrue((fromFirst + fromSecond).allSatisfy { $0.offset == 5 })
    try await second.commit(Dictionary(uniqueKeysWithValues: secondHalf.map { ($0, 6) }))

    // The second leaves: the first gets everything back, the second's half from its commits.
    await second.close()
    change = try await Self.pollChange(first)
    XCTAssertEqual(change.revoked.sorted(), firstHalf.sorted())
    change = try await Self.pollChange(first)
    XCTAssertEqual(change.assigned, all)
    seen = try await Self.drain(first, count: 2)
    XCTAssertEqual(Set(seen.map(\.topicPartition)), Set(firstHalf))
    let nothing = try await first.poll(
      maxRecords: 100, maxBytes: 1 << 20, timeout: .milliseconds(300))
    XCTAssertEqual(nothing.records, [])
    await first.close()
    await store.close()
  }

  /// Polls until the consumer reports a change of its partitions.
  private static func pollChange(_ consumer: any TopicConsumer) async throws -> ConsumerPoll {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      let poll = try await consumer.poll(
        maxRecords: 100, maxBytes: 1 << 20, timeout: .milliseconds(200))
      if !poll.assigned.isEmpty || !poll.revoked.isEmpty { return poll }
      XCTAssertEqual(poll.records, [], "records while waiting for a change")
    }
    XCTFail("no change within 30 s")
    return ConsumerPoll()
  }

  /// Polls until `count` records came.
  private static func drain(_ consumer: any TopicConsumer, count: Int) async throws -> [Record] {
    var records: [Record] = []
    let deadline = ContinuousClock.now + .seconds(20)
    while records.count < count && ContinuousClock.now < deadline {
      let poll = try await consumer.poll(
        maxRecords: 7, maxBytes: 1 << 20, timeout: .milliseconds(200))
      XCTAssertEqual(poll.revoked + poll.assigned, [], "a change while draining")
      records += poll.records
    }
    return records
  }
}
