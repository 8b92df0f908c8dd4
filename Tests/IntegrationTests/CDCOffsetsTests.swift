import Foundation
import XCTest

/// KIP-875 offsets of a CDC connector against the PostgreSQL of `make test`: GET shows the
/// slot's confirmed LSN; a PATCH forward advances the slot so the changes before it are
/// skipped; a PATCH backward is refused (a logical slot cannot go back); DELETE drops the slot,
/// which is created again on resume, and the snapshot runs again.
final class CDCOffsetsTests: CDCWorkerTestCase {
  func testPatchForwardSkipsBackwardIsRefusedAndDeleteSnapshotsAgain() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_offsets; CREATE TABLE cdc_offsets (id int PRIMARY KEY, v text); INSERT INTO cdc_offsets VALUES (1, 'one')"
    )
    slotsToDrop.append("cdc_offsets")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-offsets",
      connectorYAML(
        "cdc-offsets", tables: "[public.cdc_offsets]", topic: "offs.{schema}.{table}",
        extra: "  snapshot: initial"))
    try worker.start()
    defer {
      if let run = testRun, run.failureCount > 0 { print(worker.log()) }
      _ = worker.terminate()
    }
    try waitForStreaming(worker, "cdc-offsets")
    try cdcPSQL(url, "INSERT INTO cdc_offsets VALUES (2, 'two')")
    try waitUntil("snapshot row and one change") { try events(worker).count == 2 }
    XCTAssertEqual(try events(worker), ["r1", "c2"])

    // GET while running: the slot's confirmed LSN, Debezium-like, under the topic prefix.
    let running = try offset(worker)
    XCTAssertEqual(running.partition, ["server": "offs"])
    let lsnText = try XCTUnwrap(running.offset["lsn_text"] as? String)
    XCTAssertEqual(running.offset["lsn"] as? Int, lsnNumber(lsnText))
    XCTAssertEqual(running.offset["snapshot_completed"] as? Bool, true)
    XCTAssertEqual(
      try worker.send("PATCH", "/connectors/cdc-offsets/offsets", json: patch(lsnText)).status, 400,
      "PATCH needs STOPPED")

    // Stopped: the LSN is the slot's; an earlier one is refused with the reason.
    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-offsets/stop").status, 204)
    // The stopped task's walsender lets go of the slot a moment after the task ends.
    try waitUntil("the slot released") {
      try cdcPSQL(
        self.url, "SELECT active FROM pg_replication_slots WHERE slot_name = 'cdc_offsets'")
        == "f"
    }
    let confirmedText = try cdcPSQL(
      url, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'cdc_offsets'")
    let confirmed = try XCTUnwrap(lsnNumber(confirmedText))
    XCTAssertEqual(try offset(worker).offset["lsn"] as? Int, confirmed)
    let back = try worker.send(
      "PATCH", "/connectors/cdc-offsets/offsets", json: patch(number: confirmed - 1))
    XCTAssertEqual(back.status, 400)
    XCTAssertTrue(message(back.body).contains("confirmed_flush_lsn"), message(back.body))
    XCTAssertTrue(message(back.body).contains("Set replay_window"), message(back.body))

    // Forward past two changes: they are skipped, the one after comes.
    // The test server commits asynchronously: these commits are flushed, so the LSN is past them.
    let skipTo = try cdcPSQL(
      url,
      "SET synchronous_commit = on; INSERT INTO cdc_offsets VALUES (3, 'three'); INSERT INTO cdc_offsets VALUES (4, 'four'); SELECT pg_current_wal_lsn()"
    )
    try cdcPSQL(url, "INSERT INTO cdc_offsets VALUES (5, 'five')")
    let forward = try worker.send("PATCH", "/connectors/cdc-offsets/offsets", json: patch(skipTo))
    XCTAssertEqual(forward.status, 200, message(forward.body))
    XCTAssertEqual(
      message(forward.body), "The offsets for this connector have been altered successfully")
    XCTAssertEqual(try offset(worker).offset["lsn_text"] as? String, skipTo)
    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-offsets/resume").status, 202)
    // Changes 3 and 4 committed before 5: had they been sent, they would be in before it.
    try waitUntil("the change after the new LSN", timeout: 30) { try events(worker).contains("c5") }
    XCTAssertEqual(try events(worker), ["r1", "c2", "c5"], "changes 3 and 4 were skipped")

    // DELETE: the slot is dropped, created again on resume, and the snapshot runs again.
    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-offsets/stop").status, 204)
    let reset = try worker.send("DELETE", "/connectors/cdc-offsets/offsets")
    XCTAssertEqual(reset.status, 200, message(reset.body))
    XCTAssertEqual(
      try cdcPSQL(url, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_offsets'"),
      "0")
    XCTAssertEqual(
      try String(decoding: worker.get("/connectors/cdc-offsets/offsets").body, as: UTF8.self)
        .contains(#""offsets":[]"#), true, "no slot, no offsets")
    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-offsets/resume").status, 202)
    try waitForStreaming(worker, "cdc-offsets")
    try waitUntil("the snapshot again", timeout: 30) { try events(worker).count == 8 }
    XCTAssertEqual(Array(try events(worker).suffix(5)), ["r1", "r2", "r3", "r4", "r5"])
    XCTAssertEqual(
      try cdcPSQL(url, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_offsets'"),
      "1")
    try cdcPSQL(url, "INSERT INTO cdc_offsets VALUES (6, 'six')")
    try waitUntil("streaming after the new snapshot") { try events(worker).last == "c6" }
  }

  // MARK: - Helpers

  /// Each event of the topic as its op and row id (`c2`, `r1`), in order.
  private func events(_ worker: WorkerProcess) throws -> [String] {
    try worker.records("offs.public.cdc_offsets").compactMap { record in
      guard let value = record["value"] as? [String: Any], let op = value["op"] as? String else {
        return nil
      }
      let row = (value["after"] as? [String: Any]) ?? (value["before"] as? [String: Any])
      return "\(op)\(row?["id"] as? Int ?? -1)"
    }
  }

  private func offset(_ worker: WorkerProcess) throws -> (
    partition: [String: String], offset: [String: Any]
  ) {
    let body = try worker.getJSON("/connectors/cdc-offsets/offsets") as? [String: Any]
    let entries = body?["offsets"] as? [[String: Any]] ?? []
    XCTAssertEqual(entries.count, 1)
    return (
      entries.first?["partition"] as? [String: String] ?? [:],
      entries.first?["offset"] as? [String: Any] ?? [:]
    )
  }

  private func lsnNumber(_ text: String) -> Int? {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let high = Int(parts[0], radix: 16), let low = Int(parts[1], radix: 16)
    else { return nil }
    return high << 32 | low
  }

  private func patch(_ lsnText: String) -> String {
    #"{"offsets":[{"partition":{"server":"offs"},"offset":{"lsn_text":"\#(lsnText)"}}]}"#
  }

  private func patch(number: Int) -> String {
    #"{"offsets":[{"partition":{"server":"offs"},"offset":{"lsn":\#(number)}}]}"#
  }

  private func message(_ body: Data) -> String {
    let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    return object?["message"] as? String ?? ""
  }
}
