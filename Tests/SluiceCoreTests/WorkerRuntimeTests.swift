import Foundation
import Logging
import SluiceLog
import XCTest

@testable import SluiceCore

/// The runtime's guarantees on a real embedded log: source dedupe after a crash, sink retries,
/// dead-lettering and failure.
final class WorkerRuntimeTests: XCTestCase {
  private var directory: URL!
  private var log: EmbeddedLog!
  private var store: EmbeddedTopicStore!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-rt-\(UUID().uuidString)")
    log = try EmbeddedLog(directory: directory.appendingPathComponent("log").path)
    store = EmbeddedTopicStore(
      log: log, defaultPartitions: 2,
      groupOffsets: try FileOffsetStore(directory: directory.appendingPathComponent("offsets").path)
    )
  }

  override func tearDownWithError() throws {
    log.close()
    try? FileManager.default.removeItem(at: directory)
  }

  private func record(_ n: Int, key: String) -> SourceRecord {
    SourceRecord(
      topic: "events", key: Array(key.utf8), value: Array("v\(n)".utf8),
      position: SourcePosition(SourcePosition.hex(UInt64(n))))
  }

  /// A restarted source re-sends from an older committed position; what is already durable in
  /// each partition is dropped, what is not is written — per partition.
  func testRecordsAlreadyDurableInTheirPartitionAreDroppedAfterARestart() async throws {
    let offsets = try FileOffsetStore(directory: directory.appendingPathComponent("offsets").path)
    let first = makeWriter(offsets)
    _ = try await first.send((1...10).map { record($0, key: "k\($0 % 4)") })

    // "Crash": a new writer with no memory resends 6...15 (as if the committed position were 5).
    let second = makeWriter(offsets)
    let placed = try await second.send((6...15).map { record($0, key: "k\($0 % 4)") })
    XCTAssertEqual(
      placed.prefix(5).map(\.offset), [-1, -1, -1, -1, -1], "6...10 were already durable")
    XCTAssertTrue(placed.suffix(5).allSatisfy { $0.offset >= 0 })

    var values: [String] = []
    for p in 0..<2 {
      let records = try await store.read(
        from: TopicPartition("events", p), offset: 0, maxRecords: 100, maxBytes: 1 << 20)
      values += records.map { String(decoding: $0.value!, as: UTF8.self) }
    }
    XCTAssertEqual(values.sorted(), (1...15).map { "v\($0)" }.sorted())
    try await second.flushCommits()
    let committed = try await offsets.sourcePosition(connector: "probe")
    XCTAssertEqual(committed, SourcePosition(SourcePosition.hex(15)))
  }

  /// A send the source encoded itself: each partition's records as encoded, its last record
  /// with the connector's headers and its position (which a restart finds), the send's
  /// position committed; a partition whose send is not past its durable position is skipped.
  func testAnEncodedSendWritesEachPartitionWithItsPositionOnTheLastRecord() async throws {
    let offsets = try FileOffsetStore(directory: directory.appendingPathComponent("offsets").path)
    let writer = makeWriter(offsets)
    XCTAssertFalse(writer.transformsRecords)
    func send(_ numbers: ClosedRange<Int>, to partition: Int) -> EncodedSend {
      let records = EncodedRecords()
      for n in numbers.dropLast() {
        records.append(OutgoingRecord(timestamp: 1_000 + Int64(n), key: nil, value: Array("v\(n)".utf8)))
      }
      return EncodedSend(
        partition: TopicPartition("events", partition), records: records,
        last: OutgoingRecord(
          timestamp: 1_000 + Int64(numbers.upperBound), key: nil,
          value: Array("v\(numbers.upperBound)".utf8)),
        position: SourcePosition(SourcePosition.hex(UInt64(numbers.upperBound))))
    }
    try await writer.send(
      encoded: [send(1...3, to: 0), send(4...5, to: 1)],
      committing: SourcePosition(SourcePosition.hex(5)))
    // Partition 0 is at 3 already: its share of this send is a replay.
    try await writer.send(
      encoded: [send(2...3, to: 0), send(6...6, to: 1)],
      committing: SourcePosition(SourcePosition.hex(6)))

    func values(_ partition: Int) async throws -> [Record] {
      try await store.read(
        from: TopicPartition("events", partition), offset: 0, maxRecords: 100, maxBytes: 1 << 20)
    }
    let first = try await values(0)
    let second = try await values(1)
    XCTAssertEqual(first.map { String(decoding: $0.value!, as: UTF8.self) }, ["v1", "v2", "v3"])
    XCTAssertEqual(second.map { String(decoding: $0.value!, as: UTF8.self) }, ["v4", "v5", "v6"])
    XCTAssertEqual(first.map(\.timestamp), [1_001, 1_002, 1_003])
    XCTAssertEqual(first.first?.headers, [], "only the last record carries the headers")
    XCTAssertEqual(first.last?.header(SourceHeaders.connector), Array("probe".utf8))
    XCTAssertEqual(
      first.last?.header(SourceHeaders.position), Array(SourcePosition.hex(3).utf8))
    XCTAssertEqual(
      second.last?.header(SourceHeaders.position), Array(SourcePosition.hex(6).utf8))
    try await writer.flushCommits()
    let committed = try await offsets.sourcePosition(connector: "probe")
    XCTAssertEqual(committed, SourcePosition(SourcePosition.hex(6)))
    // A restarted writer finds each partition's position in its last record.
    let restarted = makeWriter(offsets)
    let durable = try await restarted.lastDurablePosition(in: TopicPartition("events", 1))
    XCTAssertEqual(durable, SourcePosition(SourcePosition.hex(6)))
  }

  /// Sends commit their position in the background, newest last; an explicit commit is on disk
  /// when it returns.
  func testPositionsAreCommittedInOrderWithoutTheSendWaitingAndACommitIsDurableOnReturn()
    async throws
  {
    let offsets = try FileOffsetStore(directory: directory.appendingPathComponent("offsets").path)
    let writer = makeWriter(offsets)
    for n in 1...50 { _ = try await writer.send([record(n, key: "k\(n % 4)")]) }
    try await writer.flushCommits()
    let afterSends = try await offsets.sourcePosition(connector: "probe")
    XCTAssertEqual(afterSends, SourcePosition(SourcePosition.hex(50)))
    try await writer.commit(SourcePosition(SourcePosition.hex(60) + "|state"))
    let reopened = try FileOffsetStore(directory: directory.appendingPathComponent("offsets").path)
    let onDisk = try await reopened.sourcePosition(connector: "probe")
    XCTAssertEqual(onDisk?.text, SourcePosition.hex(60) + "|state")
  }

  func testPoisonRecordGoesToTheDeadLetterTopicAndTheRestIsDelivered() async throws {
    let delivered = Delivered()
    let worker = try await startSink(tolerance: "all", delivered: delivered)
    try await produce(["ok-1", "poison", "ok-2", "ok-3"])
    try await eventually { await delivered.values == ["ok-1", "ok-2", "ok-3"] }
    try await eventually { try await self.store.partitionCount(of: "bad.dlq") != nil }
    var dlq: [Record] = []
    for p in 0..<(try await store.partitionCount(of: "bad.dlq") ?? 0) {
      dlq += try await store.read(
        from: TopicPartition("bad.dlq", p), offset: 0, maxRecords: 10, maxBytes: 1 << 20)
    }
    XCTAssertEqual(dlq.map { String(decoding: $0.value!, as: UTF8.self) }, ["poison"])
    XCTAssertEqual(
      dlq.first.flatMap { $0.header(DeadLetterHeaders.reason) }.map {
        String(decoding: $0, as: UTF8.self)
      }, "cannot apply poison")
    XCTAssertEqual(
      dlq.first.flatMap { $0.header(DeadLetterHeaders.offset) }.map {
        String(decoding: $0, as: UTF8.self)
      }, "1")
    XCTAssertEqual(
      dlq.first.flatMap { $0.header(DeadLetterHeaders.attempts) }.map {
        String(decoding: $0, as: UTF8.self)
      }, "3")
    await worker.stopAll()
  }

  func testPoisonRecordFailsTheTaskWithToleranceNone() async throws {
    let delivered = Delivered()
    let worker = try await startSink(tolerance: "none", delivered: delivered)
    try await produce(["ok-1", "poison", "ok-2"])
    try await eventually { worker.status.status(of: "tester")?.tasks.first?.state == .failed }
    let trace = worker.status.status(of: "tester")?.tasks.first?.trace ?? ""
    XCTAssertTrue(
      trace.contains("cannot apply poison") && trace.contains("errors.tolerance is none"), trace)
    let values = await delivered.values
    XCTAssertEqual(values, ["ok-1"])
    await worker.stopAll()
  }

  func testConnectionErrorsAreRetriedUntilTheyPass() async throws {
    let delivered = Delivered(failFirst: 3)
    let worker = try await startSink(tolerance: "none", delivered: delivered)
    try await produce(["a", "b"])
    try await eventually { await delivered.values == ["a", "b"] }
    let attempts = await delivered.attempts
    XCTAssertGreaterThanOrEqual(attempts, 4)
    XCTAssertEqual(worker.status.status(of: "tester")?.tasks.first?.state, .running)
    await worker.stopAll()
  }

  func testABatchThatIsNotFullWaitsUpToTheLingerForMore() async throws {
    let delivered = Delivered()
    try await store.createTopic("in", partitions: 1)
    let worker = try await startSink(
      tolerance: "none", delivered: delivered,
      batching: SinkBatching(maxRecords: 3, linger: .milliseconds(800)))
    try await Task.sleep(for: .milliseconds(300))
    try await produce(["a"])
    try await Task.sleep(for: .milliseconds(150))
    try await produce(["b", "c", "d"])
    try await eventually { await delivered.values == ["a", "b", "c", "d"] }
    // "a" waited for "b" and "c" instead of going alone; the batch stopped at max_records.
    let sizes = await delivered.batchSizes
    XCTAssertEqual(sizes, [3, 1])
    await worker.stopAll()
  }

  // MARK: - Helpers

  private func makeWriter(_ offsets: any OffsetStore) -> SourceWriter {
    SourceWriter(
      connector: "probe", taskIndex: 0, store: store,
      session: DurableAppendSession(store: store, offsets: offsets, connector: "probe"),
      status: StatusBoard(), logger: Logger(label: "test"), committedPosition: nil)
  }

  private func makeWorker(offsets: any OffsetStore, registry: ConnectorRegistry) async throws
    -> Worker
  {
    Worker(
      store: store, offsets: offsets, registry: registry, workerID: "test",
      logger: Logger(label: "test"))
  }

  private func startSink(
    tolerance: String, delivered: Delivered, batching: SinkBatching = SinkBatching()
  ) async throws -> Worker {
    var registry = ConnectorRegistry()
    registry.registerSink("tester") { _ in
      RecordingSinkConnector(delivered: delivered, batching: batching)
    }
    let offsets = try FileOffsetStore(directory: directory.appendingPathComponent("offsets").path)
    let worker = try await makeWorker(offsets: offsets, registry: registry)
    let file = directory.appendingPathComponent("tester.yaml")
    try """
    name: tester
    sink: tester
    topics: [in]
    errors: { tolerance: \(tolerance), dlq_topic: bad.dlq, retries: 2, retry_backoff_ms: 10 }
    config: {}
    """.write(to: file, atomically: true, encoding: .utf8)
    let definition = try ConnectorDefinition.load(path: file.path, environment: [:])
    await worker.apply([definition], errors: [])
    return worker
  }

  private func produce(_ values: [String]) async throws {
    try await store.createTopic("in", partitions: 1)
    _ = try await store.append(
      values.map { OutgoingRecord(key: nil, value: Array($0.utf8)) }, to: TopicPartition("in", 0))
  }
}

/// What the test sink received; it refuses "poison" with a ``SinkRecordError`` and can fail
/// the first few puts as a lost connection would.
actor Delivered {
  var values: [String] = []
  var batchSizes: [Int] = []
  var attempts = 0
  var failFirst: Int

  init(failFirst: Int = 0) { self.failFirst = failFirst }

  func put(_ records: [Record]) throws {
    attempts += 1
    if attempts <= failFirst { throw TestConnectionError() }
    for record in records where String(decoding: record.value ?? [], as: UTF8.self) == "poison" {
      // All-or-nothing, like a database transaction: nothing of this batch is applied.
      throw SinkRecordError(record: record, reason: "cannot apply poison")
    }
    values += records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
    batchSizes.append(records.count)
  }
}

struct TestConnectionError: Error {}

struct RecordingSinkConnector: SinkConnector {
  let delivered: Delivered
  var batching = SinkBatching()
  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask {
    RecordingSinkTask(delivered: delivered)
  }
}

struct RecordingSinkTask: SinkTask {
  let delivered: Delivered
  func put(_ records: [Record]) async throws { try await delivered.put(records) }
}
