import Foundation
import Logging
import Synchronization
import XCTest

@testable import SluiceCore

/// `log_format: json` and the state-change lines: the JSON handler's lines parse and carry
/// every metadata key, passwords stay masked, the status board logs one line per change of
/// state (not of trace or details), and the worker file takes `log_format` with its errors
/// placed like every other key's.
final class StructuredLogTests: XCTestCase {
  /// Lines a handler wrote, for reading back.
  private final class Lines: Sendable {
    let lines = Mutex<[String]>([])
    var output: JSONLogHandler.Output { { line in self.lines.withLock { $0.append(line) } } }
    var objects: [[String: Any]] {
      lines.withLock { $0 }.compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
      }
    }
  }

  func testJSONLineHasFixedFieldsAndFlattenedMetadata() throws {
    let written = Lines()
    var handler = JSONLogHandler(label: "sluice", metadataProvider: nil, output: written.output)
    handler[metadataKey: "connector"] = "orders"
    var logger = Logger(label: "sluice") { _ in handler }
    logger[metadataKey: "task"] = "2"
    logger.warning(
      "a \"quoted\"\nmessage\u{1}",
      metadata: [
        "message": "shadowing", "list": ["a", "b"], "nested": ["k": "v"], "count": "\(3)",
      ])
    let lines = written.lines.withLock { $0 }
    XCTAssertEqual(lines.count, 1)
    XCTAssertTrue(lines[0].hasSuffix("}\n"))
    XCTAssertEqual(lines[0].filter { $0 == "\n" }.count, 1, "one line: \(lines[0])")
    let object = try XCTUnwrap(written.objects.first)
    XCTAssertEqual(object["level"] as? String, "warning")
    XCTAssertEqual(object["label"] as? String, "sluice")
    XCTAssertEqual(object["message"] as? String, "a \"quoted\"\nmessage\u{1}")
    XCTAssertEqual(object["metadata.message"] as? String, "shadowing")
    XCTAssertEqual(object["connector"] as? String, "orders")
    XCTAssertEqual(object["task"] as? String, "2")
    XCTAssertEqual(object["count"] as? String, "3")
    XCTAssertEqual(object["list"] as? [String], ["a", "b"])
    XCTAssertEqual(object["nested"] as? [String: String], ["k": "v"])
    let ts = try XCTUnwrap(object["ts"] as? String)
    XCTAssertNotNil(
      ts.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression), ts)
  }

  func testJSONLinesKeepPasswordsMasked() throws {
    let written = Lines()
    let json = JSONLogHandler(label: "sluice", metadataProvider: nil, output: written.output)
    let logger = Logger(label: "sluice") { _ in MaskingLogHandler(wrapping: json) }
    logger.error(
      "cannot reach postgres://app:hunter2@db/app",
      metadata: ["url": "http://u:hunter2@example.com/x"])
    let line = written.lines.withLock { $0.joined() }
    XCTAssertFalse(line.contains("hunter2"), line)
    XCTAssertEqual(written.objects.count, 1)
  }

  func testStatusBoardLogsOneLinePerChangeOfState() throws {
    let written = Lines()
    let json = JSONLogHandler(label: "sluice", metadataProvider: nil, output: written.output)
    var logger = Logger(label: "sluice") { _ in json }
    logger.logLevel = .trace
    let board = StatusBoard(logger: logger)
    board.set(
      ConnectorStatus(
        name: "out", connector: .init(state: .running, workerID: "w:1", trace: nil),
        tasks: [TaskStatus(id: 0, state: .unassigned, workerID: "w:1")], type: "sink",
        connectorType: "file", configFile: "out.yaml"))
    board.updateTask("out", 0) { $0.state = .running }
    board.updateTask("out", 0) { $0.details["lag"] = "3" }  // not a state change
    board.updateTask("out", 0) { $0.trace = "retrying" }  // nor this
    board.updateTask("out", 0) {
      $0.state = .failed
      $0.trace = "disk full"
    }
    // Stopped: the connector is STOPPED and its tasks are gone.
    var stopped = try XCTUnwrap(board.status(of: "out"))
    stopped.connector.state = .stopped
    stopped.tasks = []
    board.set(stopped)
    let lines = written.objects.map {
      [
        $0["message"] as? String ?? "", $0["connector"] as? String ?? "",
        $0["task"] as? String ?? "-", $0["from"] as? String ?? "", $0["to"] as? String ?? "",
        $0["level"] as? String ?? "",
      ]
    }
    XCTAssertEqual(
      lines,
      [
        ["connector state changed", "out", "-", "none", "RUNNING", "info"],
        ["task state changed", "out", "0", "none", "UNASSIGNED", "info"],
        ["task state changed", "out", "0", "UNASSIGNED", "RUNNING", "info"],
        ["task state changed", "out", "0", "RUNNING", "FAILED", "warning"],
        ["connector state changed", "out", "-", "RUNNING", "STOPPED", "info"],
        ["task state changed", "out", "0", "FAILED", "none", "info"],
      ])
    XCTAssertNil(written.objects[3]["trace"], "the reason was logged where the task failed")
  }

  func testWorkerFileTakesLogFormat() throws {
    XCTAssertEqual(try WorkerConfig.parse(text: "data_dir: d", file: "w.yaml").logFormat, .text)
    XCTAssertEqual(
      try WorkerConfig.parse(text: "log_format: json", file: "w.yaml").logFormat, .json)
    XCTAssertThrowsError(
      try WorkerConfig.parse(text: "data_dir: d\nlog_format: jsn", file: "w.yaml")
    ) { error in
      XCTAssertEqual(
        "\(error)",
        "w.yaml:2:13: log_format: expected one of text, json, got 'jsn'; did you mean 'json'?")
    }
  }
}
