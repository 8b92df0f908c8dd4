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
    Thread.sleep(forTimeInterval: 1.5)
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
