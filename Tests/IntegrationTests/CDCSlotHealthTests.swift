import Foundation
import XCTest

/// Replication-slot health against the PostgreSQL of `make test`: a paused connector's slot
/// holds back WAL past `slot_warn_retained_wal`, which status, `/health` and `/metrics` show
/// until the connector resumes and the slot catches up; and a slot PostgreSQL invalidates
/// (`max_slot_wal_keep_size`) fails the task with what to do.
final class CDCSlotHealthTests: CDCWorkerTestCase {
  func pause(_ worker: WorkerProcess, _ name: String) throws {
    XCTAssertEqual(try worker.send("PUT", "/connectors/\(name)/pause").status, 202)
    try waitUntil("\(name) paused") {
      self.taskStatus(worker, name)?["state"] as? String == "PAUSED"
    }
  }

  func warnings(_ worker: WorkerProcess, _ name: String) -> [[String: Any]] {
    taskStatus(worker, name)?["warnings"] as? [[String: Any]] ?? []
  }

  func health(_ worker: WorkerProcess) throws -> (status: Int, body: [String: Any]) {
    let (status, body) = try worker.get("/health")
    return (status, (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:])
  }

  func testAPausedConnectorsSlotAboveTheWarnThresholdIsDegradedUntilItCatchesUp() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_slot_warn; CREATE TABLE cdc_slot_warn (id int PRIMARY KEY, pad text)"
    )
    slotsToDrop.append("cdc_slot_warn")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-slot-warn",
      connectorYAML(
        "cdc-slot-warn", tables: "[cdc_slot_warn]", topic: "slotwarn.{table}",
        extra: """
            slot_warn_retained_wal: 1MB
            slot_health_poll_ms: 200
            heartbeat_ms: 500
          """))
    try worker.start()
    try waitForStreaming(worker, "cdc-slot-warn")
    try waitUntil("the slot's figures in the status") {
      self.detail(worker, "cdc-slot-warn", "wal_status") == "reserved"
    }
    XCTAssertTrue(warnings(worker, "cdc-slot-warn").isEmpty)
    XCTAssertEqual(try health(worker).status, 200)
    XCTAssertEqual(try health(worker).body["status"] as? String, "UP")
    let labels = ["connector": "cdc-slot-warn", "slot": "cdc_slot_warn"]
    XCTAssertEqual(
      try worker.metrics().value(
        "sluice_cdc_wal_status", labels.merging(["status": "reserved"]) { $1 }), 1)

    try pause(worker, "cdc-slot-warn")
    // About 8 MB of WAL the paused connector cannot confirm.
    try cdcPSQL(
      url, "INSERT INTO cdc_slot_warn SELECT g, repeat('x', 500) FROM generate_series(1, 10000) g")
    try waitUntil("DEGRADED in the task's status", timeout: 30) {
      self.warnings(worker, "cdc-slot-warn").first?["severity"] as? String == "WARNING"
    }
    let warning = warnings(worker, "cdc-slot-warn").first ?? [:]
    XCTAssertEqual(warning["source"] as? String, "replication_slot")
    let message = warning["message"] as? String ?? ""
    XCTAssertTrue(message.contains("'cdc_slot_warn'"), message)
    XCTAssertTrue(message.contains("slot_warn_retained_wal (976.6 KiB)"), message)
    XCTAssertTrue(message.contains("paused"), message)
    let retained = Int(detail(worker, "cdc-slot-warn", "retained_wal_bytes") ?? "") ?? 0
    XCTAssertGreaterThan(retained, 1_000_000)

    let (code, body) = try health(worker)
    XCTAssertEqual(code, 200, "a warning is DEGRADED, not a failure")
    XCTAssertEqual(body["status"] as? String, "DEGRADED")
    XCTAssertTrue((body["message"] as? String ?? "").contains("cdc-slot-warn task 0"), "\(body)")
    let listed = body["warnings"] as? [[String: Any]] ?? []
    XCTAssertEqual(listed.first?["connector"] as? String, "cdc-slot-warn")
    XCTAssertEqual(listed.first?["severity"] as? String, "WARNING")
    let gauge = try worker.metrics().value("sluice_cdc_replication_slot_retained_wal_bytes", labels)
    XCTAssertGreaterThan(gauge ?? 0, 1_000_000)
    // The confirmed-flush gauge is there; its figure depends on timing: a heartbeat (a
    // non-transactional message) written while the paused rows' transaction was still open is
    // decoded before that transaction's commit, so the task may confirm its LSN, past most of
    // the transaction's WAL; PostgreSQL still sends the transaction, which commits after it.
    // The retained WAL above is what slot health goes by.
    XCTAssertNotNil(try worker.metrics().value("sluice_cdc_confirmed_flush_lag_bytes", labels))

    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-slot-warn/resume").status, 202)
    try waitUntil("every row in the topic", timeout: 60) {
      try worker.records("slotwarn.cdc_slot_warn").count >= 10_000
    }
    // restart_lsn moves at the next running-transactions record, which a checkpoint writes.
    try waitUntil("the warning cleared", timeout: 60) {
      _ = try? cdcPSQL(self.url, "CHECKPOINT")
      return self.warnings(worker, "cdc-slot-warn").isEmpty
    }
    XCTAssertEqual(try health(worker).status, 200)
    XCTAssertEqual(try health(worker).body["status"] as? String, "UP")
    XCTAssertLessThan(
      try worker.metrics().value("sluice_cdc_replication_slot_retained_wal_bytes", labels)
        ?? .infinity,
      1_000_000)

    // A removed connector's series are gone.
    try worker.removeConnector("cdc-slot-warn")
    try waitUntil("the connector's series removed") {
      !(try worker.metrics().has("sluice_cdc_replication_slot_retained_wal_bytes", labels))
    }
    XCTAssertNotNil(worker.terminate())
  }

  func testAbovetheFailThresholdTheWarningIsCriticalAndHealthAnswers503() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_slot_fail; CREATE TABLE cdc_slot_fail (id int PRIMARY KEY, pad text)"
    )
    slotsToDrop.append("cdc_slot_fail")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-slot-fail",
      connectorYAML(
        "cdc-slot-fail", tables: "[cdc_slot_fail]", topic: "slotfail.{table}",
        extra: """
            slot_warn_retained_wal: 512KiB
            slot_fail_retained_wal: 2MiB
            slot_health_poll_ms: 200
          """))
    try worker.start()
    try waitForStreaming(worker, "cdc-slot-fail")
    try pause(worker, "cdc-slot-fail")
    try cdcPSQL(
      url, "INSERT INTO cdc_slot_fail SELECT g, repeat('x', 500) FROM generate_series(1, 10000) g")
    try waitUntil("CRITICAL in the task's status", timeout: 30) {
      self.warnings(worker, "cdc-slot-fail").first?["severity"] as? String == "CRITICAL"
    }
    let message = warnings(worker, "cdc-slot-fail").first?["message"] as? String ?? ""
    XCTAssertTrue(message.contains("slot_fail_retained_wal (2.0 MiB)"), message)
    XCTAssertTrue(message.contains("keeps streaming"), message)
    let (code, body) = try health(worker)
    XCTAssertEqual(code, 503)
    XCTAssertEqual(body["status"] as? String, "DEGRADED")
    XCTAssertEqual(
      (taskStatus(worker, "cdc-slot-fail")?["state"] as? String), "PAUSED",
      "the task is not failed by the threshold")
    XCTAssertNotNil(worker.terminate())
  }

  func testASlotPostgreSQLInvalidatesFailsTheTaskWithWhatToDo() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_slot_lost; CREATE TABLE cdc_slot_lost (id int PRIMARY KEY, pad text)"
    )
    slotsToDrop.append("cdc_slot_lost")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-slot-lost",
      connectorYAML(
        "cdc-slot-lost", tables: "[cdc_slot_lost]", topic: "slotlost.{table}",
        extra: "  slot_health_poll_ms: 200"))
    try worker.start()
    try waitForStreaming(worker, "cdc-slot-lost")
    try pause(worker, "cdc-slot-lost")
    // A slot may hold back at most 1 MB past max_wal_size's reservation: writing several WAL
    // segments while paused, then a checkpoint, makes PostgreSQL invalidate it.
    try cdcPSQL(url, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'; SELECT pg_reload_conf()")
    defer {
      _ = try? cdcPSQL(url, "ALTER SYSTEM RESET max_slot_wal_keep_size; SELECT pg_reload_conf()")
    }
    try waitUntil("wal_status lost", timeout: 90) {
      try cdcPSQL(
        self.url,
        """
        INSERT INTO cdc_slot_lost SELECT g, repeat(md5(g::text), 30)
          FROM generate_series((SELECT coalesce(max(id), 0) + 1 FROM cdc_slot_lost),
                               (SELECT coalesce(max(id), 0) + 20000 FROM cdc_slot_lost)) g;
        SELECT pg_switch_wal();
        CHECKPOINT;
        """)
      return try cdcPSQL(
        self.url, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'cdc_slot_lost'")
        == "lost"
    }
    _ = try? cdcPSQL(url, "ALTER SYSTEM RESET max_slot_wal_keep_size; SELECT pg_reload_conf()")
    try waitUntil("the task FAILED", timeout: 30) {
      self.taskStatus(worker, "cdc-slot-lost")?["state"] as? String == "FAILED"
    }
    let trace = taskStatus(worker, "cdc-slot-lost")?["trace"] as? String ?? ""
    XCTAssertTrue(trace.contains("invalidated"), trace)
    XCTAssertTrue(trace.contains("pg_drop_replication_slot('cdc_slot_lost')"), trace)
    XCTAssertTrue(trace.contains("DELETE /connectors/cdc-slot-lost/offsets"), trace)
    let (code, body) = try health(worker)
    XCTAssertEqual(code, 503)
    XCTAssertEqual(body["failed_connectors"] as? [String], ["cdc-slot-lost"])
    XCTAssertNotNil(worker.terminate())
  }
}
