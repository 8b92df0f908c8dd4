import Foundation
import Logging
import SluiceLog
import XCTest

@testable import SluiceCore

/// A connector says how many tasks it runs under `tasks:` (Kafka Connect's
/// `Connector.taskConfigs(maxTasks)`), and the worker runs exactly those: the status lists them
/// and no others, and a task index past them is not found.
final class TaskCountTests: StoreTestCase {
  func testASingleTaskSourceRunsOneTaskWhateverTasksAllows() async throws {
    let tally = Tally()
    var registry = ConnectorRegistry()
    registry.registerSource("single") { _ in DeclaredTasksSource(tally: tally, declared: 1) }
    let worker = Worker(
      store: store, offsets: offsets, registry: registry, workerID: "test",
      logger: Logger(label: "test"))
    await worker.apply(
      [try definition("name: x\nsource: single\ntopic: t\ntasks: 3\n")], errors: [])
    try await eventually { worker.status.status(of: "x")?.tasks.first?.state == .running }
    XCTAssertEqual(worker.status.status(of: "x")?.tasks.map(\.id), [0])
    let live = await tally.live
    XCTAssertEqual(live, 1, "one task started")
    await assertNotFound { try await worker.restartTask("x", 1) }
    let restarted = try await worker.restart("x", includeTasks: true, onlyFailed: false)
    XCTAssertEqual(restarted, [0], "a restart with its tasks restarts the one that runs")
    await worker.stopAll()
  }

  func testASourceThatDeclaresAsManyAsAllowedRunsThemAll() async throws {
    let tally = Tally()
    var registry = ConnectorRegistry()
    registry.registerSource("wide") { _ in AllowedTasksSource(tally: tally) }
    let worker = Worker(
      store: store, offsets: offsets, registry: registry, workerID: "test",
      logger: Logger(label: "test"))
    await worker.apply(
      [try definition("name: w\nsource: wide\ntopic: t\ntasks: 3\n")], errors: [])
    try await eventually { await tally.live == 3 }
    try await eventually {
      worker.status.status(of: "w")?.tasks.allSatisfy { $0.state == .running } == true
    }
    XCTAssertEqual(worker.status.status(of: "w")?.tasks.map(\.id), [0, 1, 2])
    await worker.stopAll()
  }

  /// What a connector declares is kept from one task to `tasks:`: Kafka Connect caps a
  /// connector at `tasks.max` too, and a running Sluice connector always has a task.
  func testTheDeclaredCountIsKeptBetweenOneAndTheMaximum() {
    func count(declared: Int, max: Int) -> Int {
      ConfiguredConnector.source(DeclaredTasksSource(tally: Tally(), declared: declared))
        .taskCount(maxTasks: max)
    }
    XCTAssertEqual(count(declared: 1, max: 4), 1)
    XCTAssertEqual(
      ConfiguredConnector.source(AllowedTasksSource(tally: Tally())).taskCount(maxTasks: 4), 4,
      "the default runs as many as allowed")
    XCTAssertEqual(count(declared: 10, max: 3), 3, "never more than tasks:")
    XCTAssertEqual(count(declared: 0, max: 3), 1, "never none")
  }

  private func definition(_ text: String) throws -> ConnectorDefinition {
    try ConnectorDefinition.parse(text: text, file: "x.yaml", environment: [:])
  }

  private func assertNotFound(
    _ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line
  ) async {
    do {
      try await body()
      XCTFail("expected an error", file: file, line: line)
    } catch let error as WorkerControlError {
      XCTAssertEqual(error.kind, .notFound, "\(error)", file: file, line: line)
    } catch {
      XCTFail("\(error)", file: file, line: line)
    }
  }
}

/// A source that declares `declared` tasks; each runs until cancelled.
struct DeclaredTasksSource: SourceConnector {
  let tally: Tally
  let declared: Int

  func taskCount(maxTasks: Int) -> Int { declared }

  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
    SlowToStopTask(tally: tally, stall: .zero)
  }
}

/// A source that keeps the protocol's default: as many tasks as `tasks:` allows.
struct AllowedTasksSource: SourceConnector {
  let tally: Tally

  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
    SlowToStopTask(tally: tally, stall: .zero)
  }
}
