import Foundation
import XCTest

/// `log_format: json` on a real worker: every line it writes is one JSON object with `ts`,
/// `level`, `label` and `message`; lines of a task name its connector and task; a pause and a
/// resume are each one state-change line per connector and task.
final class JSONLogTests: XCTestCase {
  func testEveryLineIsJSONAndStateChangesNameConnectorAndTask() throws {
    let pipeline = try FileLinesPipeline(workerYAMLExtra: "log_format: json")
    let worker = pipeline.worker
    try pipeline.start()
    defer { if let run = testRun, run.failureCount > 0 { print(worker.log()) } }
    try pipeline.append(1...3)
    try waitUntil("three lines delivered") { pipeline.outputLines().count == 3 }
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/pause").status, 202)
    try waitUntil("paused") { try pipeline.states("lines-out") == ["PAUSED", "PAUSED"] }
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/resume").status, 202)
    try waitUntil("running") { try pipeline.states("lines-out") == ["RUNNING", "RUNNING"] }
    // A task's own line: the file sink says where it resumes when it starts again.
    XCTAssertEqual(
      try worker.send("POST", "/connectors/lines-out/restart?includeTasks=true").status, 202)
    try waitUntil("running after the restart") {
      try pipeline.states("lines-out") == ["RUNNING", "RUNNING"]
    }
    XCTAssertEqual(worker.terminate()?.status, 0)

    let lines = worker.log().split(separator: "\n", omittingEmptySubsequences: true)
    XCTAssertFalse(lines.isEmpty)
    var entries: [[String: Any]] = []
    for line in lines {
      guard
        let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      else {
        XCTFail("not a JSON object: \(line)")
        continue
      }
      for key in ["ts", "level", "label", "message"] {
        XCTAssertNotNil(object[key] as? String, "no \(key) in \(line)")
      }
      if object["task"] != nil {
        XCTAssertNotNil(
          object["connector"] as? String, "a task line without its connector: \(line)")
      }
      entries.append(object)
    }
    XCTAssertTrue(
      entries.contains { ($0["ts"] as? String)?.hasSuffix("Z") == true }, "timestamps in UTC")

    func stateLines(task: String?, from: String, to: String) -> Int {
      entries.filter {
        $0["connector"] as? String == "lines-out" && $0["task"] as? String == task
          && $0["from"] as? String == from && $0["to"] as? String == to
          && ($0["message"] as? String)?.hasSuffix("state changed") == true
      }.count
    }
    XCTAssertEqual(stateLines(task: nil, from: "RUNNING", to: "PAUSED"), 1)
    XCTAssertEqual(stateLines(task: "0", from: "RUNNING", to: "PAUSED"), 1)
    XCTAssertEqual(stateLines(task: nil, from: "PAUSED", to: "RUNNING"), 1)
    XCTAssertEqual(stateLines(task: "0", from: "PAUSED", to: "RUNNING"), 1)
    XCTAssertGreaterThanOrEqual(stateLines(task: "0", from: "RUNNING", to: "RESTARTING"), 1)

    // The worker's runner lines for a task carry both keys, not only the state changes.
    let taskLines = entries.filter {
      $0["connector"] as? String == "lines-out" && $0["task"] as? String == "0"
        && ($0["message"] as? String)?.hasSuffix("state changed") == false
    }
    XCTAssertFalse(taskLines.isEmpty, "no line from the sink task itself")
  }
}
