import Foundation
import Logging
import ServiceLifecycle
import SluiceLog
import XCTest

@testable import SluiceCore

/// How the worker replaces and removes connectors: never two incarnations of one connector at
/// once, and a removal's destructive cleanup only once the removal has held for the grace period.
final class WorkerReplacementTests: StoreTestCase {
  /// The old task ignores cancellation for 12 s (longer than any stop timeout the worker ever
  /// had): its replacement waits, says so in status, and starts only once the old has returned.
  func testAReplacementNeverRunsBesideATaskThatIsSlowToStop() async throws {
    let tally = Tally()
    var registry = ConnectorRegistry()
    registry.registerSource("slow") { _ in SlowToStopSource(tally: tally, stall: .seconds(12)) }
    let worker = Worker(
      store: store, offsets: offsets, registry: registry, workerID: "test",
      slowStopWarning: .seconds(1), logger: Logger(label: "test"))
    await worker.apply([try definition("name: x\nsource: slow\ntopic: t\n")], errors: [])
    try await eventually { await tally.live == 1 }

    let changed = ContinuousClock.now
    await worker.apply([try definition("name: x\nsource: slow\ntopic: t2\n")], errors: [])
    XCTAssertLessThan(ContinuousClock.now - changed, .seconds(2), "apply does not block")
    let waiting = worker.status.status(of: "x")
    XCTAssertEqual(waiting?.connector.state, .restarting)
    XCTAssertEqual(waiting?.connector.trace, "waiting for the previous task to stop")

    try await eventually(timeout: .seconds(30)) { await tally.started == 2 }
    let most = await tally.mostAtOnce
    XCTAssertEqual(most, 1, "two tasks ran on one connector")
    XCTAssertGreaterThanOrEqual(ContinuousClock.now - changed, .seconds(11))
    try await eventually { worker.status.status(of: "x")?.tasks.first?.state == .running }
    XCTAssertEqual(worker.status.status(of: "x")?.connector.state, .running)

    // Shutdown is bounded: the second incarnation also takes 12 s to stop, stopAll gives up.
    let shutdown = ContinuousClock.now
    await worker.stopAll(timeout: .milliseconds(200))
    XCTAssertLessThan(
      ContinuousClock.now - shutdown, .seconds(3), "stopAll waited past its timeout")
  }

  /// A removal stops the connector at once; `removed()` waits for the grace period and is
  /// called off when the connector comes back within it.
  func testRemovalCleanupWaitsForTheGracePeriodAndIsCalledOffWhenTheFileComesBack() async throws {
    let tally = Tally()
    var registry = ConnectorRegistry()
    registry.registerSource("slow") { _ in SlowToStopSource(tally: tally, stall: .zero) }
    let worker = Worker(
      store: store, offsets: offsets, registry: registry, workerID: "test",
      removalGrace: .seconds(1), logger: Logger(label: "test"))
    let x = try definition("name: x\nsource: slow\ntopic: t\n")
    await worker.apply([x], errors: [])
    try await eventually { await tally.live == 1 }

    await worker.apply([], errors: [])
    let stopped = await worker.runningConnectors
    XCTAssertEqual(stopped, [])
    XCTAssertNil(worker.status.status(of: "x"))
    try await eventually { await tally.live == 0 }
    try await Task.sleep(for: .milliseconds(300))
    var removals = await tally.removals
    XCTAssertEqual(removals, 0, "cleanup ran before the grace period was over")

    await worker.apply([x], errors: [])
    try await eventually { await tally.live == 1 }
    try await Task.sleep(for: .milliseconds(1500))
    removals = await tally.removals
    XCTAssertEqual(removals, 0, "cleanup ran although the connector came back")

    // Back but invalid is still back: the file is not gone.
    await worker.apply([], errors: [])
    try await Task.sleep(for: .milliseconds(300))
    await worker.apply(
      [], errors: [ConfigError(file: x.file, line: 1, column: 1, key: "", message: "bad")])
    try await Task.sleep(for: .milliseconds(1500))
    removals = await tally.removals
    XCTAssertEqual(removals, 0, "cleanup ran although the file came back (invalid)")

    await worker.apply([], errors: [])
    try await eventually(timeout: .seconds(5)) { await tally.removals == 1 }
    await worker.stopAll()
  }

  /// In a ServiceGroup, graceful shutdown stops every task and marks the connector STOPPED;
  /// cancellation returns at once even while a task takes long to stop.
  func testTheWorkerStopsItsConnectorsOnGracefulShutdownAndReturnsAtOnceOnCancellation()
    async throws
  {
    let tally = Tally()
    var registry = ConnectorRegistry()
    registry.registerSource("slow") { definition in
      SlowToStopSource(tally: tally, stall: definition.topic == "slow" ? .seconds(12) : .zero)
    }
    let logger = Logger(label: "test")

    let graceful = Worker(
      store: store, offsets: offsets, registry: registry, workerID: "test", logger: logger)
    let group = ServiceGroup(services: [graceful], logger: logger)
    let running = Task { try await group.run() }
    await graceful.apply([try definition("name: x\nsource: slow\ntopic: quick\n")], errors: [])
    try await eventually { await tally.live == 1 }
    await group.triggerGracefulShutdown()
    try await running.value
    let live = await tally.live
    XCTAssertEqual(live, 0, "graceful shutdown returned before the task had stopped")
    XCTAssertEqual(graceful.status.status(of: "x")?.connector.state, .stopped)

    let cancelled = Worker(
      store: store, offsets: offsets, registry: registry, workerID: "test", logger: logger)
    let second = ServiceGroup(services: [cancelled], logger: logger)
    let secondRun = Task { try await second.run() }
    await cancelled.apply([try definition("name: y\nsource: slow\ntopic: slow\n")], errors: [])
    try await eventually { await tally.live == 1 }
    let started = ContinuousClock.now
    secondRun.cancel()
    _ = try? await secondRun.value
    XCTAssertLessThan(ContinuousClock.now - started, .seconds(3), "cancellation waited")
  }

  // MARK: - Helpers

  private func definition(_ text: String) throws -> ConnectorDefinition {
    try ConnectorDefinition.parse(
      text: text, file: directory.appendingPathComponent("x.yaml").path, environment: [:])
  }
}

/// Counts the test source's tasks: how many run now, at most at once, ever, and removals.
actor Tally {
  var live = 0
  var mostAtOnce = 0
  var started = 0
  var removals = 0

  func begin() {
    live += 1
    started += 1
    mostAtOnce = max(mostAtOnce, live)
  }

  func end() { live -= 1 }
  func removed() { removals += 1 }
}

/// A source whose task runs until cancelled and then takes `stall` to stop, ignoring further
/// cancellation, as a task blocked in a C call would.
struct SlowToStopSource: SourceConnector {
  let tally: Tally
  let stall: Duration

  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
    SlowToStopTask(tally: tally, stall: stall)
  }

  func removed() async { await tally.removed() }
}

/// The task of ``SlowToStopSource``.
struct SlowToStopTask: SourceTask {
  let tally: Tally
  let stall: Duration

  func run() async throws {
    await tally.begin()
    while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
    let stall = stall
    // Detached: the task's cancellation does not cut the stall short.
    await Task.detached { try? await Task.sleep(for: stall) }.value
    await tally.end()
  }
}
