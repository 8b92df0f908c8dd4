import Foundation
import SluiceCore
import SluiceTestBrokers
import XCTest

@testable import SluiceKafkaStore

/// A source task's writes on Kafka (KIP-618): records and the connector's position in one
/// transaction, the position read back with read_committed by the task's next incarnation,
/// and an older incarnation fenced. On Tansu and on Sluice's own listener.
final class TransactionalSourceSessionTests: XCTestCase {
  func testRecordsAndPositionCommitTogetherAndTheNextIncarnationFencesTheOld() async throws {
    for kind in [BrokerProcess.Kind.tansu, .sluice] {
      try await check(kind)
    }
  }

  private func check(_ kind: BrokerProcess.Kind) async throws {
    let broker = try BrokerProcess(kind)
    try broker.start()
    defer { broker.stop() }
    let store = testStore(broker, partitions: 2)
    try await store.start()
    try await store.createTopic("changes", partitions: 2)

    let first = try await store.makeSourceSession(
      connector: "cdc", task: 0, offsets: NoOffsets())
    let nothingYet = try await first.committedPosition()
    XCTAssertNil(nothingYet)
    let p0 = TopicPartition("changes", 0)
    let p1 = TopicPartition("changes", 1)
    let bases = try await first.write(
      [
        (p0, [OutgoingRecord(key: nil, value: Array("a".utf8))]),
        (p1, [OutgoingRecord(key: nil, value: Array("b".utf8))]),
      ], committing: SourcePosition("0/10"))
    XCTAssertEqual(bases.count, 2)
    try await first.commit(SourcePosition("0/20"))

    // The task's next incarnation: the position it resumes from is the last one committed, and
    // starting it fences the first.
    let second = try await store.makeSourceSession(
      connector: "cdc", task: 0, offsets: NoOffsets())
    let resumed = try await second.committedPosition()
    XCTAssertEqual(resumed, SourcePosition("0/20"))
    do {
      _ = try await first.write(
        [(p0, [OutgoingRecord(key: nil, value: Array("zombie".utf8))])],
        committing: SourcePosition("0/30"))
      XCTFail("the zombie wrote after its successor started")
    } catch {}
    _ = try await second.write(
      [(p0, [OutgoingRecord(key: nil, value: Array("c".utf8))])], committing: SourcePosition("0/40")
    )

    // What a read_committed reader sees: the committed records, not the zombie's.
    let values = try await store.read(from: p0, offset: 0, maxRecords: 100, maxBytes: 1 << 20)
      .compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
    XCTAssertTrue(values.contains("a") && values.contains("c"), "\(values)")
    XCTAssertFalse(values.contains("zombie"), "\(values)")
    let third = try await store.makeSourceSession(connector: "cdc", task: 0, offsets: NoOffsets())
    let last = try await third.committedPosition()
    XCTAssertEqual(last, SourcePosition("0/40"))
    // Another connector's position is its own.
    let other = try await store.makeSourceSession(connector: "web", task: 0, offsets: NoOffsets())
    let none = try await other.committedPosition()
    XCTAssertNil(none)
    await store.close()
  }
}

extension TransactionalSourceSessionTests {
  /// A connector that asks for its history gets back its own records from the history topic,
  /// with the place each landed, and not another connector's; a connector that never asks
  /// writes no copies.
  func testHistoryComesFromTheHistoryTopicAndOnlyForConnectorsThatAsk() async throws {
    for kind in [BrokerProcess.Kind.tansu, .sluice] { try await history(on: kind) }
  }

  private func history(on kind: BrokerProcess.Kind) async throws {
    let broker = try BrokerProcess(kind)
    try broker.start()
    defer { broker.stop() }
    let store = testStore(broker, partitions: 3)
    try await store.start()
    try await store.createTopic("hooks", partitions: 3)
    let web = try await store.makeSourceSession(connector: "web", task: 0, offsets: NoOffsets())
    let empty = try await web.recentlyWritten(maxAge: nil, maxCount: nil, nowMs: 0)
    XCTAssertEqual(empty.records.count, 0)
    let now = currentTimeMillis()
    var written: [(TopicPartition, Int64, String)] = []
    for i in 0..<30 {
      let tp = TopicPartition("hooks", i % 3)
      let header = RecordHeader("Idempotency-Key", "k\(i)")
      let bases = try await web.write(
        [(tp, [OutgoingRecord(timestamp: now - Int64(30 - i) * 1000, key: nil, value: Array("v\(i)".utf8), headers: [header])])],
        committing: nil)
      written.append((tp, bases[0], "k\(i)"))
    }
    // Another connector's writes, before and after it asked (it never does), and one that asks.
    let cdc = try await store.makeSourceSession(connector: "cdc", task: 0, offsets: NoOffsets())
    _ = try await cdc.write(
      [(TopicPartition("hooks", 0), [OutgoingRecord(key: nil, value: Array("c".utf8))])],
      committing: SourcePosition("0/1"))
    let mqtt = try await store.makeSourceSession(connector: "mqtt", task: 0, offsets: NoOffsets())
    _ = try await mqtt.recentlyWritten(maxAge: nil, maxCount: 10, nowMs: now)
    _ = try await mqtt.write(
      [(TopicPartition("hooks", 1), [OutgoingRecord(key: nil, value: Array("m".utf8))])],
      committing: nil)

    // The next incarnation of `web` reads back its records, oldest first, each with its place.
    let next = try await store.makeSourceSession(connector: "web", task: 0, offsets: NoOffsets())
    let all = try await next.recentlyWritten(maxAge: nil, maxCount: nil, nowMs: now)
    XCTAssertEqual(all.unreadable, [])
    XCTAssertEqual(
      all.records.compactMap { $0.header("Idempotency-Key").map { String(decoding: $0, as: UTF8.self) } },
      written.map(\.2))
    for (record, (tp, offset, _)) in zip(all.records, written) {
      XCTAssertEqual(record.topicPartition, tp)
      XCTAssertEqual(record.offset, offset)
      XCTAssertNil(record.header(SourceHistoryTopic.offsetHeader), "placement headers are dropped")
    }
    // By age (the last 10 s) and by count.
    let young = try await next.recentlyWritten(
      maxAge: .milliseconds(10_500), maxCount: nil, nowMs: now)
    XCTAssertEqual(young.records.count, 10)
    let newest = try await next.recentlyWritten(maxAge: nil, maxCount: 4, nowMs: now)
    XCTAssertEqual(newest.records.map(\.offset), written.suffix(4).map(\.1))
    // `cdc` never asked: no copies of its records; `mqtt` asked: its one record is there.
    let cdcHistory = try await SourceHistoryTopic(store: store, connector: "cdc").recent(
      maxAge: nil, maxCount: nil, nowMs: now)
    XCTAssertEqual(cdcHistory.records.count, 0)
    let mqttHistory = try await SourceHistoryTopic(store: store, connector: "mqtt").recent(
      maxAge: nil, maxCount: nil, nowMs: now)
    XCTAssertEqual(mqttHistory.records.map { $0.value.map { String(decoding: $0, as: UTF8.self) } }, ["m"])
    // The history topic is the store's own: not listed with the connectors' topics.
    let topics = try await store.describeTopics().map(\.name)
    XCTAssertFalse(topics.contains(store.configuration.historyTopic), "\(topics)")
    await store.close()
  }
}

extension TransactionalSourceSessionTests {
  /// 200 concurrent writes (a webhook's requests) share transactions; each gets back the
  /// offset its own record landed at, and the position committed is the newest.
  func testConcurrentWritesShareTransactionsAndEachGetsItsOwnOffset() async throws {
    let broker = try BrokerProcess(.sluice)
    try broker.start()
    defer { broker.stop() }
    let store = testStore(broker, partitions: 2)
    try await store.start()
    try await store.createTopic("hooks", partitions: 2)
    let session = try await store.makeSourceSession(connector: "web", task: 0, offsets: NoOffsets())
    let placed = try await withThrowingTaskGroup(of: (String, TopicPartition, Int64).self) { group in
      for i in 0..<200 {
        group.addTask {
          let tp = TopicPartition("hooks", i % 2)
          let bases = try await session.write(
            [(tp, [OutgoingRecord(key: nil, value: Array("r\(i)".utf8))])], committing: nil)
          return ("r\(i)", tp, bases[0])
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    XCTAssertEqual(placed.count, 200)
    var stored: [TopicPartition: [Int64: String]] = [:]
    for p in 0..<2 {
      let tp = TopicPartition("hooks", p)
      for record in try await store.read(from: tp, offset: 0, maxRecords: 1000, maxBytes: 1 << 20) {
        stored[tp, default: [:]][record.offset] = record.value.map { String(decoding: $0, as: UTF8.self) }
      }
    }
    for (value, tp, offset) in placed {
      XCTAssertEqual(stored[tp]?[offset], value, "\(value) said it is at \(tp)@\(offset)")
    }
    XCTAssertEqual(stored.values.map(\.count).reduce(0, +), 200, "each record once")
    // Fewer transactions than writes: each commit writes one marker per partition it touched.
    let end0 = try await store.offsets(of: TopicPartition("hooks", 0)).end
    XCTAssertLessThan(end0, 200, "100 records and a marker per transaction: transactions were shared")
    await store.close()
  }

  /// KIP-875 on Kafka: the admin API reads the position without a producer, so the running
  /// task is not fenced; a reset writes a tombstone, after which no position is committed.
  func testReadingThePositionDoesNotFenceAndAResetIsATombstone() async throws {
    let broker = try BrokerProcess(.sluice)
    try broker.start()
    defer { broker.stop() }
    let store = testStore(broker, partitions: 1)
    try await store.start()
    try await store.createTopic("files", partitions: 1)
    let p0 = TopicPartition("files", 0)

    let task = try await store.makeSourceSession(connector: "src", task: 0, offsets: NoOffsets())
    _ = try await task.committedPosition()
    _ = try await task.write(
      [(p0, [OutgoingRecord(key: nil, value: Array("a".utf8))])], committing: SourcePosition("01"))
    let read = try await store.committedSourcePosition(connector: "src", offsets: NoOffsets())
    XCTAssertEqual(read, SourcePosition("01"))
    // Still the task's producer: it writes on.
    _ = try await task.write(
      [(p0, [OutgoingRecord(key: nil, value: Array("b".utf8))])], committing: SourcePosition("02"))
    let readAgain = try await store.committedSourcePosition(connector: "src", offsets: NoOffsets())
    XCTAssertEqual(readAgain, SourcePosition("02"))

    // The connector stopped; the admin session resets it.
    let admin = try await store.makeSourceSession(connector: "src", task: 0, offsets: NoOffsets())
    try await admin.resetPosition()
    let afterReset = try await store.committedSourcePosition(connector: "src", offsets: NoOffsets())
    XCTAssertNil(afterReset)
    let next = try await store.makeSourceSession(connector: "src", task: 0, offsets: NoOffsets())
    let resumed = try await next.committedPosition()
    XCTAssertNil(resumed, "a new incarnation starts without a position")
    await store.close()
  }
}

/// The worker's offsets file, which a Kafka source session must not need.
struct NoOffsets: OffsetStore {
  func sourcePosition(connector: String) async throws -> SourcePosition? {
    XCTFail("read the worker's offsets")
    return nil
  }
  func commitSourcePosition(_ position: SourcePosition, connector: String) async throws {
    XCTFail("wrote the worker's offsets")
  }
  func sinkOffsets(connector: String) async throws -> [TopicPartition: Int64] { [:] }
  func commitSinkOffsets(_ offsets: [TopicPartition: Int64], connector: String) async throws {}
  func remove(connector: String) async throws {}
}
