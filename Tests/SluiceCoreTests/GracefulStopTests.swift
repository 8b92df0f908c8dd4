import Foundation
import Logging
import ServiceLifecycle
import SluiceLog
import XCTest

@testable import SluiceCore

/// Stopping a connector is graceful first (its tasks take no new input, finish what they hold,
/// commit and return) and becomes cancellation only after `task_shutdown_graceful_timeout_ms`.
final class GracefulStopTests: StoreTestCase {
  /// A file change stops the sink while a put is under way: the put is not interrupted, its
  /// offsets are committed, and the replacement starts after it — nothing is delivered twice.
  func testAChangedSinkFinishesTheBatchInHandCommitsItAndIsNotRedelivered() async throws {
    let puts = SlowPuts(duration: .milliseconds(800))
    let worker = makeWorker(sink: puts, grace: .seconds(5))
    try await produce(["a", "b", "c"])
    await worker.apply([try sink(topics: "[in]")], errors: [])
    try await eventually { await puts.started >= 1 }

    await worker.apply([try sink(topics: "[in, other]")], errors: [])
    try await eventually(timeout: .seconds(10)) { await puts.delivered == ["a", "b", "c"] }
    try await eventually { await self.committed() == 3 }
    let committed = try await offsets.sinkOffsets(connector: "slow")
    XCTAssertEqual(committed[TopicPartition("in", 0)], 3, "the finished batch was not committed")
    let interrupted = await puts.interrupted
    XCTAssertEqual(interrupted, 0, "the graceful stop cancelled the put in hand")

    // The replacement takes over from the commit: new records only.
    try await produce(["d"])
    try await eventually { await puts.delivered == ["a", "b", "c", "d"] }
    await worker.stopAll()
    let delivered = await puts.delivered
    XCTAssertEqual(delivered, ["a", "b", "c", "d"], "a record was delivered twice")
  }

  /// Graceful shutdown of the worker's ServiceGroup (SIGTERM) does the same for every sink.
  func testWorkerShutdownLetsTheSinkFinishItsBatchAndCommit() async throws {
    let puts = SlowPuts(duration: .milliseconds(600))
    let worker = makeWorker(sink: puts, grace: .seconds(5))
    let group = ServiceGroup(services: [worker], logger: Logger(label: "test"))
    let running = Task { try await group.run() }
    try await produce(["a", "b"])
    await worker.apply([try sink(topics: "[in]")], errors: [])
    try await eventually { await puts.started >= 1 }
    await group.triggerGracefulShutdown()
    try await running.value
    let interrupted = await puts.interrupted
    XCTAssertEqual(interrupted, 0)
    let committed = try await offsets.sinkOffsets(connector: "slow")
    XCTAssertEqual(committed[TopicPartition("in", 0)], 2)
    XCTAssertEqual(worker.status.status(of: "slow")?.connector.state, .stopped)
  }

  /// A put that outlasts the grace period is cancelled: the stop is bounded, and the batch is
  /// left uncommitted for the next run to deliver again.
  func testAPutStillRunningAfterTheGracePeriodIsCancelled() async throws {
    let puts = SlowPuts(duration: .seconds(60))
    let worker = makeWorker(sink: puts, grace: .milliseconds(300))
    try await produce(["a"])
    await worker.apply([try sink(topics: "[in]")], errors: [])
    try await eventually { await puts.started >= 1 }
    let stopping = ContinuousClock.now
    await worker.stopAll()
    XCTAssertLessThan(ContinuousClock.now - stopping, .seconds(3), "the stop was not bounded")
    try await eventually { await puts.interrupted == 1 }
    let committed = try await offsets.sinkOffsets(connector: "slow")
    XCTAssertNil(committed[TopicPartition("in", 0)], "an undelivered batch was committed")
  }

  /// A sink whose downstream is down when the stop comes does not keep retrying until the
  /// grace period ends: it stops at once and leaves the batch for the next run.
  func testASinkRetryingAFailingDeliveryStopsAtOnce() async throws {
    let puts = SlowPuts(duration: .zero, failing: true)
    let worker = makeWorker(sink: puts, grace: .seconds(30))
    try await produce(["a"])
    await worker.apply([try sink(topics: "[in]")], errors: [])
    try await eventually { await puts.started >= 2 }
    let stopping = ContinuousClock.now
    await worker.stopAll()
    XCTAssertLessThan(ContinuousClock.now - stopping, .seconds(3), "retried through the stop")
    let committed = try await offsets.sinkOffsets(connector: "slow")
    XCTAssertNil(committed[TopicPartition("in", 0)])
  }

  // MARK: - Helpers

  private func makeWorker(sink puts: SlowPuts, grace: Duration) -> Worker {
    var registry = ConnectorRegistry()
    registry.registerSink("slow") { _ in SlowSinkConnector(puts: puts) }
    return Worker(
      store: store, offsets: offsets, registry: registry, workerID: "test",
      taskStopGrace: grace, logger: Logger(label: "test"))
  }

  private func sink(topics: String) throws -> ConnectorDefinition {
    try ConnectorDefinition.parse(
      text: "name: slow\nsink: slow\ntopics: \(topics)\nconfig: {}\n",
      file: directory.appendingPathComponent("slow.yaml").path, environment: [:])
  }

  private func committed() async -> Int64? {
    try? await offsets.sinkOffsets(connector: "slow")[TopicPartition("in", 0)]
  }

  private func produce(_ values: [String]) async throws {
    try await store.createTopic("in", partitions: 1)
    _ = try await store.append(
      values.map { OutgoingRecord(key: nil, value: Array($0.utf8)) }, to: TopicPartition("in", 0))
  }
}

/// What the slow test sink did: puts started, puts interrupted by cancellation, and the values
/// of the puts that completed.
actor SlowPuts {
  let duration: Duration
  let failing: Bool
  var started = 0
  var interrupted = 0
  var delivered: [String] = []

  init(duration: Duration, failing: Bool = false) {
    self.duration = duration
    self.failing = failing
  }

  func begin() { started += 1 }
  func cancelled() { interrupted += 1 }
  func finished(_ values: [String]) { delivered += values }
}

/// A sink whose every put takes `duration` (a cancellable sleep, as a network call is), or
/// fails as a lost connection does.
struct SlowSinkConnector: SinkConnector {
  let puts: SlowPuts

  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask {
    SlowSinkTask(puts: puts)
  }

  var batching: SinkBatching { SinkBatching(maxRecords: 100) }
}

/// The task of ``SlowSinkConnector``.
struct SlowSinkTask: SinkTask {
  let puts: SlowPuts

  func put(_ records: [Record]) async throws {
    await puts.begin()
    if puts.failing { throw URLError(.cannotConnectToHost) }
    do {
      try await Task.sleep(for: puts.duration)
    } catch {
      await puts.cancelled()
      throw error
    }
    await puts.finished(records.map { String(decoding: $0.value ?? [], as: UTF8.self) })
  }
}
