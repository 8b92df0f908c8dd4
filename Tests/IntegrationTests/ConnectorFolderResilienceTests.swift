import Foundation
import XCTest

/// What happens to a running worker's connectors when their folder misbehaves: a folder that
/// cannot be listed for a while stops nothing, and a second file claiming a running connector's
/// name does not take it over.
final class ConnectorFolderResilienceTests: XCTestCase {
  /// The folder is renamed away for three seconds (the listing fails: no such folder; root is
  /// not stopped by permissions), then put back. The connector runs throughout.
  func testAConnectorsFolderThatCannotBeListedStopsNothing() throws {
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("in.txt")
    try append(["before"], to: input)
    try worker.writeConnector(
      "tail",
      "name: tail\nsource: file\ntopic: lines\nconfig: { path: \(input.path), poll_ms: 20 }\n")
    try worker.start()
    try waitUntil("connector running") { try self.taskState(worker, "tail") == "RUNNING" }
    try waitUntil("first line") { try worker.records("lines").count == 1 }

    let away = worker.directory.appendingPathComponent("connectors.away")
    XCTAssertEqual(rename(worker.connectorsDirectory.path, away.path), 0)
    try append(["during"], to: input)
    let outageEnds = Date().addingTimeInterval(3)
    while Date() < outageEnds {
      let names = try worker.getJSON("/connectors") as? [String] ?? []
      XCTAssertTrue(names.contains("tail"), "connector gone while the folder was unreadable")
      XCTAssertEqual(try taskState(worker, "tail"), "RUNNING")
      Thread.sleep(forTimeInterval: 0.2)
    }
    let problem = try worker.getJSON("/connectors/connectors_dir/status") as? [String: Any]
    let summary = problem?["connector"] as? [String: Any]
    XCTAssertEqual(summary?["state"] as? String, "FAILED")
    XCTAssertTrue((summary?["trace"] as? String ?? "").contains("cannot read the folder"))
    XCTAssertEqual(try worker.get("/health").status, 503)
    try waitUntil("line written during the outage delivered") {
      try worker.records("lines").count == 2
    }

    XCTAssertEqual(rename(away.path, worker.connectorsDirectory.path), 0)
    try waitUntil("folder problem cleared") {
      try worker.get("/connectors/connectors_dir/status").status == 404
    }
    XCTAssertEqual(try worker.get("/health").status, 200)
    XCTAssertEqual(try taskState(worker, "tail"), "RUNNING")
    let log = worker.log()
    XCTAssertFalse(log.contains("connector removed"), log)
    XCTAssertEqual(log.components(separatedBy: "cannot list connectors_dir").count - 1, 1, log)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  /// `0.yaml` sorts before `a.yaml`, but `a.yaml` had the name first and keeps it; `0.yaml`
  /// is FAILED under its own placeholder name until `a.yaml` goes away.
  func testANewFileReusingARunningConnectorsNameDoesNotTakeItOver() throws {
    let worker = try WorkerProcess()
    let first = worker.directory.appendingPathComponent("first.txt")
    let second = worker.directory.appendingPathComponent("second.txt")
    try append(["from-first"], to: first)
    // The name's committed position (11 bytes, after "from-first") carries over to the second
    // file; the padding line keeps "from-second" past it.
    try append(["0123456789", "from-second"], to: second)
    try worker.writeConnector(
      "a", "name: x\nsource: file\ntopic: t\nconfig: { path: \(first.path), poll_ms: 20 }\n")
    try worker.start()
    try waitUntil("x running") { try self.taskState(worker, "x") == "RUNNING" }

    try worker.writeConnector(
      "0", "name: x\nsource: file\ntopic: t\nconfig: { path: \(second.path), poll_ms: 20 }\n")
    let aFile = worker.connectorsDirectory.appendingPathComponent("a.yaml").path
    try waitUntil("the newcomer is FAILED, saying who has the name") {
      let status = try worker.getJSON("/connectors/0/status") as? [String: Any]
      let connector = status?["connector"] as? [String: Any]
      return connector?["state"] as? String == "FAILED"
        && (connector?["trace"] as? String ?? "").contains(
          "connector name 'x' is already used by \(aFile)")
    }
    // A sentinel connector, added after: once it has delivered its line, the folder has been
    // read again since the newcomer, and a takeover would have shown.
    let third = worker.directory.appendingPathComponent("third.txt")
    try append(["from-third"], to: third)
    try worker.writeConnector(
      "z", "name: z\nsource: file\ntopic: z\nconfig: { path: \(third.path), poll_ms: 20 }\n")
    try waitUntil("the sentinel connector's line") { try worker.records("z").count == 1 }
    let x = try worker.getJSON("/connectors/x/status") as? [String: Any]
    XCTAssertEqual(x?["config_file"] as? String, aFile)
    XCTAssertEqual(try taskState(worker, "x"), "RUNNING")
    XCTAssertEqual(
      try worker.records("t").compactMap { $0["value"] as? String }, ["from-first"])
    XCTAssertFalse(worker.log().contains("connector changed; restarting"), worker.log())

    try worker.removeConnector("a")
    let zeroFile = worker.connectorsDirectory.appendingPathComponent("0.yaml").path
    try waitUntil("the second file takes the name once the first is gone", timeout: 30) {
      let status = try worker.getJSON("/connectors/x/status") as? [String: Any]
      return status?["config_file"] as? String == zeroFile
    }
    try waitUntil("x reads the second file") {
      try worker.records("t").compactMap { $0["value"] as? String }.contains("from-second")
    }
    XCTAssertEqual(try worker.get("/connectors/0/status").status, 404)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  private func taskState(_ worker: WorkerProcess, _ name: String) throws -> String? {
    let (status, body) = try worker.get("/connectors/\(name)/status")
    guard status == 200, let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
    else { return nil }
    return ((json["tasks"] as? [[String: Any]])?.first)?["state"] as? String
  }
}

/// What `sluice validate` and `sluice run` refuse in a connector file, as a user sees it.
final class HostileConfigTests: XCTestCase {
  /// Six levels of ten aliases: a million values from a few hundred bytes.
  private func bomb(name: String) -> String {
    var text = "name: \(name)\nsource: file\ntopic: t\nconfig:\n  path: /tmp/x\n"
    text += "  l0: &l0 [a, b, c, d, e, f, g, h, i, j]\n"
    for level in 1...6 {
      let items = Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ")
      text += "  l\(level): &l\(level) [\(items)]\n"
    }
    return text
  }

  func testAnAliasBombIsRefusedByValidateAndAtStart() throws {
    let worker = try WorkerProcess()
    try worker.writeConnector("bomb", bomb(name: "bomb"))
    let file = worker.connectorsDirectory.appendingPathComponent("bomb.yaml").path
    let started = Date()
    let validated = try runSluice(["validate", file])
    XCTAssertEqual(validated.status, 1)
    XCTAssertTrue(
      validated.stderr.hasPrefix("\(file):")
        && validated.stderr.contains("more than 100000 values"),
      validated.stderr)
    XCTAssertThrowsError(try worker.start()) { error in
      XCTAssertTrue("\(error)".contains("more than 100000 values"), "\(error)")
    }
    XCTAssertLessThan(Date().timeIntervalSince(started), 20)
  }

  /// The watcher refuses it too, and the running connectors are not affected.
  func testAnAliasBombAddedWhileRunningIsShownAsFailed() throws {
    let worker = try WorkerProcess()
    try worker.start()
    try worker.writeConnector("bomb", bomb(name: "bomb"))
    try waitUntil("the bomb file is FAILED") {
      let status = try worker.getJSON("/connectors/bomb/status") as? [String: Any]
      let trace = (status?["connector"] as? [String: Any])?["trace"] as? String ?? ""
      return trace.contains("more than 100000 values")
    }
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testAnInterpolatedValueIsHiddenInValidateErrors() throws {
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "leak",
      "name: leak\nsource: file\ntopic: t\nconfig:\n  path: /tmp/x\n  batch_lines: ${env:LINES_SECRET}\n"
    )
    let file = worker.connectorsDirectory.appendingPathComponent("leak.yaml").path
    let validated = try runSluice(["validate", file], environment: ["LINES_SECRET": "hunter2"])
    XCTAssertEqual(validated.status, 1)
    XCTAssertFalse(validated.stderr.contains("hunter2"), validated.stderr)
    XCTAssertTrue(
      validated.stderr.contains(
        "config.batch_lines: expected an integer, got '${env:LINES_SECRET}' (value hidden)"),
      validated.stderr)
  }

  /// `${file:}` reads under the worker's `secrets_dirs`; elsewhere it is refused, by validate
  /// (which applies them with --config) and at start.
  func testFileInterpolationReadsOnlyUnderSecretsDirs() throws {
    let worker = try WorkerProcess(workerYAMLExtra: "secrets_dirs: [secrets]")
    let secrets = worker.directory.appendingPathComponent("secrets")
    try FileManager.default.createDirectory(at: secrets, withIntermediateDirectories: true)
    let input = worker.directory.appendingPathComponent("in.txt")
    try append(["line"], to: input)
    try input.path.write(
      to: secrets.appendingPathComponent("input-path"), atomically: true, encoding: .utf8)
    let reference = "${file:\(secrets.path)/input-path}"
    try worker.writeConnector(
      "tail", "name: tail\nsource: file\ntopic: t\nconfig: { path: '\(reference)' }\n")
    let file = worker.connectorsDirectory.appendingPathComponent("tail.yaml").path
    let workerFile = worker.directory.appendingPathComponent("worker.yaml").path

    let alone = try runSluice(["validate", file])
    XCTAssertEqual(alone.status, 1)
    XCTAssertTrue(alone.stderr.contains("is outside the secrets folders"), alone.stderr)
    let withWorker = try runSluice(["validate", "--config", workerFile, file])
    XCTAssertEqual(withWorker.status, 0, withWorker.stderr)

    try worker.start()
    try waitUntil("the line of the file named by the secret") {
      try worker.records("t").count == 1
    }
    XCTAssertEqual(worker.terminate()?.status, 0)

    let outside = try WorkerProcess()
    try outside.writeConnector(
      "tail", "name: tail\nsource: file\ntopic: t\nconfig: { path: '${file:/etc/hostname}' }\n")
    XCTAssertThrowsError(try outside.start()) { error in
      XCTAssertTrue("\(error)".contains("is outside the secrets folders"), "\(error)")
    }
  }
}
