import Foundation
import SluiceTestBrokers
import XCTest

/// The worker as a user meets it: hot-reloaded connector files, the CLI against a running worker,
/// and start-up refusals that must be one clear message with a non-zero exit.
final class WorkerLifecycleTests: XCTestCase {
  func testConnectorFilesAreStartedRestartedAndStoppedWithoutARestart() throws {
    let worker = try WorkerProcess()
    try worker.start()
    XCTAssertEqual(try worker.getJSON("/connectors") as? [String], [])

    let first = worker.directory.appendingPathComponent("a.txt")
    let second = worker.directory.appendingPathComponent("b.txt")
    try append(["from-a"], to: first)
    try append(["from-b"], to: second)
    try worker.writeConnector(
      "tail", "name: tail\nsource: file\ntopic: hot\nconfig: { path: \(first.path), poll_ms: 20 }\n"
    )
    try waitUntil("connector started") { try self.taskState(worker, "tail") == "RUNNING" }
    try waitUntil("line from a.txt in the topic") { try self.endOffset(worker, "hot") == 1 }

    // Changed file: restarted with the new path (a new connector name keeps positions apart).
    try worker.writeConnector(
      "tail",
      "name: tail2\nsource: file\ntopic: hot\nconfig: { path: \(second.path), poll_ms: 20 }\n")
    try waitUntil("changed connector running") { try self.taskState(worker, "tail2") == "RUNNING" }
    try waitUntil("line from b.txt in the topic") { try self.endOffset(worker, "hot") == 2 }
    XCTAssertEqual(try worker.getJSON("/connectors") as? [String], ["tail2"])

    // An invalid edit keeps the running connector and says why in its status.
    try worker.writeConnector(
      "tail", "name: tail2\nsource: file\ntopic: hot\nconfig: { pth: \(second.path) }\n")
    try waitUntil("error shown in status") {
      let status = try worker.getJSON("/connectors/tail2/status") as? [String: Any]
      let trace = (status?["connector"] as? [String: Any])?["trace"] as? String ?? ""
      return trace.contains("tail.yaml:4:11") && trace.contains("did you mean 'path'")
    }
    XCTAssertEqual(try taskState(worker, "tail2"), "RUNNING")

    try worker.removeConnector("tail")
    try waitUntil("connector stopped") { (try worker.getJSON("/connectors") as? [String]) == [] }
    XCTAssertEqual(try worker.get("/connectors/tail2/status").status, 404)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  /// SIGTERM while a webhook request is half sent: the worker takes no new connection but waits
  /// for that request, answers it once its record is durable, and then exits 0.
  func testSIGTERMAnswersTheWebhookRequestInFlightBeforeExiting() throws {
    let worker = try WorkerProcess()
    let port = try WorkerProcess.freePort()
    try worker.writeConnector(
      "h", "name: h\nsource: webhook\ntopic: h\nconfig: { listen: 127.0.0.1:\(port), path: /h }\n")
    try worker.start()
    try waitForListener(port)
    let body = "{\"n\": 1}"
    let connection = try RawConnection(port: port)
    try connection.send(
      "POST /h HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(body.utf8.count)\r\n\r\n" + body.prefix(4))
    Thread.sleep(forTimeInterval: 0.3)
    let process = try XCTUnwrap(worker.process)
    kill(process.processIdentifier, SIGTERM)
    Thread.sleep(forTimeInterval: 0.5)
    XCTAssertTrue(process.isRunning, "the worker exited with a request in flight")
    XCTAssertFalse(portIsOpen(port), "a new connection was accepted during the shutdown")
    try connection.send(String(body.dropFirst(4)))
    let answer = connection.receive()
    XCTAssertTrue(answer.hasPrefix("HTTP/1.1 20"), "answer: \(answer)\n\(worker.log())")
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)

    try worker.start()
    XCTAssertEqual(try worker.records("h").count, 1)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testProduceThenConsumeRoundTripThroughTheCLI() throws {
    let worker = try WorkerProcess(workerYAMLExtra: "")
    try worker.start()
    let env = ["SLUICE_API": worker.apiURL]
    let lines = (1...50).map { "k\($0 % 3)=value \($0)" } + ["{\"json\": true}"]
    let produced = try runSluice(
      ["produce", "cli-topic", "--key-separator", "="], stdin: lines.joined(separator: "\n") + "\n",
      environment: env)
    XCTAssertEqual(produced.status, 0, produced.stderr)

    let consumed = try runSluice(["consume", "cli-topic", "--from-beginning"], environment: env)
    XCTAssertEqual(consumed.status, 0, consumed.stderr)
    let records = consumed.stdout.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
    XCTAssertEqual(records.count, 51)
    XCTAssertEqual(records.first?["key"] as? String, "k1")
    XCTAssertEqual(records.first?["value"] as? String, "value 1")
    XCTAssertEqual(records.map { ($0["offset"] as? NSNumber)?.intValue }, (0...50).map { $0 })
    XCTAssertEqual((records.last?["value"] as? [String: Any])?["json"] as? Bool, true)

    let limited = try runSluice(
      ["consume", "cli-topic", "--offset", "10", "--limit", "5"], environment: env)
    XCTAssertEqual(limited.stdout.split(separator: "\n").count, 5)

    let topics = try runSluice(["topics"], environment: env)
    XCTAssertTrue(topics.stdout.contains("cli-topic\t0\t0\t51"), topics.stdout)

    let missing = try runSluice(["consume", "no-such-topic", "--from-beginning"], environment: env)
    XCTAssertNotEqual(missing.status, 0)
    XCTAssertTrue(
      missing.stderr.contains("404") && missing.stderr.contains("no-such-topic"), missing.stderr)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testStatusCommandShowsConnectorsAndTasks() throws {
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("in.txt")
    try append(["x"], to: input)
    try worker.writeConnector(
      "src", "name: src\nsource: file\ntopic: s\nconfig: { path: \(input.path) }\n")
    try worker.start()
    try waitUntil("running") { try self.taskState(worker, "src") == "RUNNING" }
    let status = try runSluice(["status"], environment: ["SLUICE_API": worker.apiURL])
    XCTAssertEqual(status.status, 0, status.stderr)
    XCTAssertTrue(status.stdout.contains("src (source file): RUNNING"), status.stdout)
    XCTAssertTrue(status.stdout.contains("task 0: RUNNING"), status.stdout)
    let one = try runSluice(
      ["status", "src", "--json"], environment: ["SLUICE_API": worker.apiURL])
    let json = try JSONSerialization.jsonObject(with: Data(one.stdout.utf8)) as? [String: Any]
    XCTAssertEqual(json?["name"] as? String, "src")
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testSecondWorkerOnTheSameDataDirFailsClearly() throws {
    let first = try WorkerProcess()
    try first.start()
    let config = first.directory.appendingPathComponent("second.yaml")
    try """
    data_dir: \(first.directory.path)/data
    connectors_dir: \(first.directory.path)/connectors
    api: { listen: 127.0.0.1:\(try WorkerProcess.freePort()) }
    """.write(to: config, atomically: true, encoding: .utf8)
    let second = try runSluice(["run", "--config", config.path])
    XCTAssertNotEqual(second.status, 0)
    XCTAssertTrue(second.stderr.contains("in use by another Sluice worker"), second.stderr)
    XCTAssertEqual(first.terminate()?.status, 0)
  }

  func testPortInUseFailsClearly() throws {
    let first = try WorkerProcess()
    try first.start()
    let other = try WorkerProcess(port: first.port)
    let result = try runSluice([
      "run", "--config", other.directory.appendingPathComponent("worker.yaml").path,
    ])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderr.contains("cannot listen on 127.0.0.1:\(first.port)"), result.stderr)
    XCTAssertEqual(first.terminate()?.status, 0)
  }

  func testConfigTypoStopsStartUpWithFileLineAndColumn() throws {
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "typo", "name: typo\nsource: file\ntopic: t\nconfig:\n  path: /tmp/x\n  batch_lnes: 10\n")
    let result = try runSluice([
      "run", "--config", worker.directory.appendingPathComponent("worker.yaml").path,
    ])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderr.contains("typo.yaml:6:3"), result.stderr)
    XCTAssertTrue(result.stderr.contains("did you mean 'batch_lines'"), result.stderr)

    let validate = try runSluice([
      "validate", worker.connectorsDirectory.appendingPathComponent("typo.yaml").path,
    ])
    XCTAssertEqual(validate.status, 1)
    XCTAssertTrue(validate.stderr.contains("typo.yaml:6:3"), validate.stderr)
  }

  func testUnknownConnectorTypeSuggestsTheClosestOne() throws {
    let worker = try WorkerProcess()
    try worker.writeConnector("t", "name: t\nsource: fil\ntopic: t\nconfig: { path: /tmp/x }\n")
    let validate = try runSluice([
      "validate", worker.connectorsDirectory.appendingPathComponent("t.yaml").path,
    ])
    XCTAssertEqual(validate.status, 1)
    XCTAssertTrue(validate.stderr.contains("t.yaml:2:9"), validate.stderr)
    XCTAssertTrue(validate.stderr.contains("did you mean 'file'"), validate.stderr)
  }

  // MARK: - Helpers

  private func taskState(_ worker: WorkerProcess, _ name: String) throws -> String? {
    let (status, body) = try worker.get("/connectors/\(name)/status")
    guard status == 200, let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
    else { return nil }
    return ((json["tasks"] as? [[String: Any]])?.first)?["state"] as? String
  }

  private func endOffset(_ worker: WorkerProcess, _ topic: String) throws -> Int? {
    let (status, body) = try worker.get("/topics/\(topic)")
    guard status == 200, let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
    else { return nil }
    return ((json["partitions"] as? [[String: Any]])?.first?["end_offset"] as? NSNumber)?.intValue
  }
}

/// The shipped configs stay valid: every example and the default worker pass `sluice validate`.
final class ShippedConfigTests: XCTestCase {
  func testEveryShippedConfigValidates() throws {
    let root = TestServers.repository
    let config = root.appendingPathComponent("Config")
    var files = [config.appendingPathComponent("worker.yaml").path]
    for folder in ["connectors", "examples"] {
      let dir = config.appendingPathComponent(folder)
      files += try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map {
        dir.appendingPathComponent($0).path
      }
    }
    XCTAssertGreaterThan(files.count, 4)
    let result = try runSluice(
      ["validate"] + files,
      environment: [
        "GITHUB_WEBHOOK_SECRET": "x", "STRIPE_WEBHOOK_SECRET": "y", "WAREHOUSE_PASSWORD": "z",
      ])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(result.stdout.split(separator: "\n").count, files.count, result.stdout)
  }
}
