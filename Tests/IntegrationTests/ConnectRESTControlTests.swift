import Foundation
import XCTest

/// Kafka Connect's control routes on a real worker: pause stops intake and keeps the position,
/// resume goes on from it, stop (KIP-875) ends the tasks and keeps config and offsets, the
/// target state survives a restart of the worker, and tasks restart in place.
final class ConnectRESTControlTests: XCTestCase {
  private var pipeline: FileLinesPipeline!
  private var worker: WorkerProcess { pipeline.worker }

  override func setUpWithError() throws {
    pipeline = try FileLinesPipeline()
    try pipeline.start()
  }

  override func tearDown() {
    _ = worker.terminate()
    if let run = testRun, run.failureCount > 0 { print(worker.log()) }
  }

  func testPauseResumeStopAndRestartAcrossAWorkerRestart() throws {
    try append(1...10)
    try waitUntil("the first lines delivered") { delivered() == 10 }

    // Pause the source: lines written meanwhile stay in the file, not in the topic.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/pause").status, 202)
    try waitUntil("source PAUSED") { try states("lines-in") == ["PAUSED", "PAUSED"] }
    try append(11...20)
    Thread.sleep(forTimeInterval: 1.5)
    XCTAssertEqual(try worker.records("lines").count, 10, "a paused source takes no input")
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/resume").status, 202)
    try waitUntil("resumed lines delivered once") { delivered() == 20 }
    XCTAssertEqual(try states("lines-in"), ["RUNNING", "RUNNING"])

    // Stop the sink (KIP-875): no tasks; records wait in the topic.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/stop").status, 204)
    try waitUntil("sink STOPPED without tasks") { try states("lines-out") == ["STOPPED"] }
    try append(21...25)
    try waitUntil("the topic has the new lines") { try worker.records("lines").count == 25 }
    Thread.sleep(forTimeInterval: 1)
    XCTAssertEqual(delivered(), 20, "a stopped sink delivers nothing")

    // Paused and stopped stay so across a restart of the worker.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/pause").status, 202)
    XCTAssertNotNil(worker.terminate())
    try worker.start()
    try waitUntil("states kept across the restart") {
      try states("lines-out") == ["STOPPED"] && states("lines-in") == ["PAUSED", "PAUSED"]
    }
    XCTAssertEqual(delivered(), 20)

    // Resuming a stopped connector starts it where its offsets are: nothing twice.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/resume").status, 202)
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/resume").status, 202)
    try waitUntil("the stopped sink caught up") { delivered() == 25 }

    // One task restarts in place; the connector restarts with its tasks (KIP-745).
    XCTAssertEqual(try worker.send("POST", "/connectors/lines-out/tasks/0/restart").status, 204)
    try waitUntil("task running again") { try states("lines-out") == ["RUNNING", "RUNNING"] }
    try append(26...30)
    try waitUntil("lines after the task restart delivered") { delivered() == 30 }
    let restart = try worker.send("POST", "/connectors/lines-in/restart?includeTasks=true")
    XCTAssertEqual(restart.status, 202)
    let body = try JSONSerialization.jsonObject(with: restart.body) as? [String: Any]
    XCTAssertEqual(body?["name"] as? String, "lines-in")
    XCTAssertNotNil(body?["tasks"] as? [[String: Any]])
    try waitUntil("restarted source running") { try states("lines-in") == ["RUNNING", "RUNNING"] }
    try append(31...35)
    try waitUntil("every line once, in order") { delivered() == 35 }
    XCTAssertEqual(deliveredLines(), (1...35).map { "line \($0)" })
    XCTAssertEqual(
      try worker.send("POST", "/connectors/lines-in/restart").status, 204,
      "the connector alone restarts synchronously")
  }

  func testTaskStatusExpandAndErrors() throws {
    let task = try worker.getJSON("/connectors/lines-in/tasks/0/status") as? [String: Any]
    XCTAssertEqual(task?["id"] as? Int, 0)
    XCTAssertNotNil(task?["worker_id"] as? String)
    XCTAssertNil(task?["trace"], "trace is omitted when empty")

    let expanded =
      try worker.getJSON("/connectors?expand=status&expand=info") as? [String: [String: Any]]
    XCTAssertEqual(Set(expanded?.keys.map { $0 } ?? []), ["lines-in", "lines-out"])
    let info = expanded?["lines-out"]?["info"] as? [String: Any]
    XCTAssertEqual(info?["type"] as? String, "sink")
    XCTAssertEqual((info?["tasks"] as? [[String: Any]])?.first?["connector"] as? String, "lines-out")
    XCTAssertNotNil(expanded?["lines-out"]?["status"] as? [String: Any])
    let onlyStatus = try worker.getJSON("/connectors?expand=status") as? [String: [String: Any]]
    XCTAssertNil(onlyStatus?["lines-in"]?["info"])
    XCTAssertEqual(
      try worker.getJSON("/connectors?expand=nonsense") as? [String], ["lines-in", "lines-out"],
      "unknown expansions are ignored")

    for (method, path, code) in [
      ("PUT", "/connectors/nope/pause", 404), ("PUT", "/connectors/nope/stop", 404),
      ("POST", "/connectors/nope/restart", 404), ("GET", "/connectors/lines-in/tasks/7/status", 404),
      ("POST", "/connectors/lines-in/tasks/7/restart", 404),
      ("POST", "/connectors/lines-in/tasks/x/restart", 404),
      ("POST", "/connectors/lines-in/restart?includeTasks=maybe", 400),
    ] {
      let (status, body) = try worker.send(method, path)
      XCTAssertEqual(status, code, "\(method) \(path)")
      let error = try JSONSerialization.jsonObject(with: body) as? [String: Any]
      XCTAssertEqual(error?["error_code"] as? Int, code, "\(method) \(path)")
      XCTAssertFalse((error?["message"] as? String ?? "").isEmpty, "\(method) \(path)")
    }
  }

  /// KIP-558: the topics a connector used, kept across a restart, emptied by a reset.
  func testActiveTopicsAreTrackedKeptAndReset() throws {
    XCTAssertEqual(try topics("lines-in"), [], "nothing written yet")
    try append(1...3)
    try waitUntil("delivered") { delivered() == 3 }
    XCTAssertEqual(try topics("lines-in"), ["lines"])
    XCTAssertEqual(try topics("lines-out"), ["lines"])
    XCTAssertNotNil(worker.terminate())
    try worker.start()
    XCTAssertEqual(try topics("lines-in"), ["lines"], "kept across a restart")
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/topics/reset").status, 202)
    XCTAssertEqual(try topics("lines-in"), [])
    try append(4...4)
    try waitUntil("used again after the reset") { try topics("lines-in") == ["lines"] }
    XCTAssertEqual(try worker.send("GET", "/connectors/nope/topics").status, 404)
  }

  // MARK: - Helpers

  private func topics(_ name: String) throws -> [String] {
    let body = try worker.getJSON("/connectors/\(name)/topics") as? [String: [String: [String]]]
    return try XCTUnwrap(body?[name]?["topics"])
  }

  private func append(_ lines: ClosedRange<Int>) throws { try pipeline.append(lines) }

  private func deliveredLines() -> [String] { pipeline.outputLines() }

  private func delivered() -> Int { deliveredLines().count }

  private func states(_ name: String) throws -> [String] { try pipeline.states(name) }
}
