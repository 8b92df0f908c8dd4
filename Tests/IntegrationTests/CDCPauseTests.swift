import Foundation
import XCTest

/// A paused CDC connector (`PUT /connectors/{c}/pause`) takes no changes into topics, keeps its
/// replication slot and its walsender (it goes on answering the server, so a short
/// `wal_sender_timeout` does not drop it), and on resume delivers every change made meanwhile,
/// once.
final class CDCPauseTests: CDCWorkerTestCase {
  func testAPausedCDCConnectorKeepsItsSlotAndStreamAndResumesWithoutLoss() throws {
    try cdcPSQL(url, "DROP TABLE IF EXISTS cdc_paused; CREATE TABLE cdc_paused (id int PRIMARY KEY)")
    slotsToDrop.append("cdc_paused")
    // The walsender drops a client silent for 2 s: only standby status keeps it.
    try cdcPSQL(url, "ALTER SYSTEM SET wal_sender_timeout = '2s'; SELECT pg_reload_conf()")
    defer {
      _ = try? cdcPSQL(url, "ALTER SYSTEM RESET wal_sender_timeout; SELECT pg_reload_conf()")
    }
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-paused",
      connectorYAML(
        "cdc-paused", tables: "[cdc_paused]", topic: "paused.{table}",
        extra: "  heartbeat_ms: 600000"))
    try worker.start()
    try waitForStreaming(worker, "cdc-paused")
    try cdcPSQL(url, "INSERT INTO cdc_paused SELECT g FROM generate_series(1, 100) g")
    try waitUntil("the first rows in the topic") {
      try worker.records("paused.cdc_paused").count == 100
    }
    let pid = try cdcPSQL(
      url, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'cdc_paused'")
    XCTAssertFalse(pid.isEmpty)

    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-paused/pause").status, 202)
    try waitUntil("paused") {
      let s = try worker.getJSON("/connectors/cdc-paused/status") as? [String: Any]
      return (s?["connector"] as? [String: Any])?["state"] as? String == "PAUSED"
    }
    // Enough changes to fill the task's hand-off, so the replication thread waits for room.
    for chunk in 0..<3 {
      let from = 101 + chunk * 10_000
      try cdcPSQL(
        url, "INSERT INTO cdc_paused SELECT g FROM generate_series(\(from), \(from + 9_999)) g")
    }
    // Two timeouts of the server's, answered by the paused task, and nothing written meanwhile.
    try waitForStandbyReply(walsender: pid, after: 4)
    XCTAssertEqual(
      try worker.records("paused.cdc_paused").count, 100, "a paused connector writes nothing")
    XCTAssertEqual(
      try cdcPSQL(url, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'cdc_paused'"),
      pid, "the same walsender still streams: the paused task answered the server")
    XCTAssertFalse(worker.log().contains("replication interrupted"), worker.log())

    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-paused/resume").status, 202)
    try waitUntil("every change after the resume", timeout: 60) {
      try worker.records("paused.cdc_paused").count >= 30_100
    }
    let ids = try worker.records("paused.cdc_paused").compactMap { record -> Int? in
      let value = record["value"] as? [String: Any]
      return (value?["after"] as? [String: Any])?["id"] as? Int
    }
    XCTAssertEqual(ids, Array(1...30_100), "every change once, in order")
    XCTAssertNotNil(worker.terminate())
  }
}
