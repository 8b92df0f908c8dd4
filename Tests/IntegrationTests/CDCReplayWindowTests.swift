import Foundation
import XCTest

/// `replay_window` on the PostgreSQL of `make test`: the slot confirms that far behind the
/// durable point, so `sluice replay` (by LSN and by time) moves the CDC source back inside it
/// and the changes that committed after the point are written to the topic again, and those
/// before it are not; what is written again stays written once across a restart; a PATCH before
/// the slot's confirmed LSN is refused with a message that names `replay_window`.
final class CDCReplayWindowTests: CDCWorkerTestCase {
  func testReplayByLSNWritesTheChangesAfterItAgainAndOnlyThem() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_window_lsn; CREATE TABLE cdc_window_lsn (id int PRIMARY KEY, v text)"
    )
    slotsToDrop.append("cdc_window_lsn")
    let worker = try WorkerProcess()
    let topic = "wlsn.public.cdc_window_lsn"
    try worker.writeConnector(
      "cdc-window-lsn",
      connectorYAML(
        "cdc-window-lsn", tables: "[public.cdc_window_lsn]", topic: "wlsn.{schema}.{table}",
        extra: "  snapshot: never\n  replay_window: 64MiB\n  heartbeat_ms: 200"))
    try worker.start()
    defer {
      if let run = testRun, run.failureCount > 0 { print(worker.log()) }
      _ = worker.terminate()
    }
    try waitForStreaming(worker, "cdc-window-lsn")
    func events() throws -> [String] { try Self.events(worker, topic) }

    // Two groups of changes, one transaction each row, with the WAL position between them.
    try cdcPSQL(
      url,
      "INSERT INTO cdc_window_lsn VALUES (1, 'one'); INSERT INTO cdc_window_lsn VALUES (2, 'two')")
    try waitUntil("the first group", timeout: 30) { try events().count == 2 }
    let between = try cdcPSQL(url, "SELECT pg_current_wal_lsn()")
    try cdcPSQL(
      url,
      "INSERT INTO cdc_window_lsn VALUES (3, 'three'); UPDATE cdc_window_lsn SET v = 'ONE' WHERE id = 1"
    )
    try waitUntil("the second group", timeout: 30) { try events().count == 4 }
    XCTAssertEqual(try events(), ["c1", "c2", "c3", "u1"])
    // Heartbeats and the durable changes move the slot, but only to a window behind them.
    let confirmed = try Self.lsn(
      try cdcPSQL(
        url,
        "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'cdc_window_lsn'"))
    let point = try Self.lsn(between)
    XCTAssertLessThanOrEqual(confirmed, point, "the window keeps the LSN between the groups")

    // Replay to the LSN between the groups, given as an integer.
    let replayed = try runSluice([
      "replay", "cdc-window-lsn", "--to-offset", "\(point)", "--api", worker.apiURL,
    ])
    XCTAssertEqual(replayed.status, 0, replayed.stderr)
    XCTAssertTrue(replayed.stdout.contains("stopped (was RUNNING)"), replayed.stdout)
    XCTAssertTrue(replayed.stdout.contains("→ \(between) (--to-offset \(point))"), replayed.stdout)
    XCTAssertTrue(
      replayed.stdout.contains("the changes that committed after \(between) are written"),
      replayed.stdout)
    XCTAssertTrue(replayed.stdout.contains("resumed"), replayed.stdout)
    // Changes come in commit order: once the later change 4 is in, everything the replay
    // wrote is before it.
    try cdcPSQL(url, "INSERT INTO cdc_window_lsn VALUES (4, 'four')")
    try waitUntil("a change after the replay", timeout: 30) { try events().last == "c4" }
    XCTAssertEqual(
      try events(), ["c1", "c2", "c3", "u1", "c3", "u1", "c4"],
      "the changes after the LSN again, those before it not, later ones once")

    // A crash after the replay repeats nothing.
    worker.kill9()
    try worker.start(timeout: 60)
    try waitForStreaming(worker, "cdc-window-lsn")
    try cdcPSQL(url, "INSERT INTO cdc_window_lsn VALUES (5, 'five')")
    // A repeat of an earlier change would come before change 5, in commit order.
    try waitUntil("a change after the restart", timeout: 30) { try events().last == "c5" }
    XCTAssertEqual(try events(), ["c1", "c2", "c3", "u1", "c3", "u1", "c4", "c5"])

    // Offsets deleted after the replay: a new slot, whose changes are written, not dropped as
    // older than the replay's positions (the reset keeps the generation).
    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-window-lsn/stop").status, 204)
    let reset = try worker.send("DELETE", "/connectors/cdc-window-lsn/offsets")
    XCTAssertEqual(reset.status, 200, Self.message(reset.body))
    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-window-lsn/resume").status, 202)
    try waitForStreaming(worker, "cdc-window-lsn")
    try cdcPSQL(url, "INSERT INTO cdc_window_lsn VALUES (6, 'six')")
    try waitUntil("a change of the new slot", timeout: 30) { try events().count >= 9 }
    XCTAssertEqual(try events().last, "c6")
  }

  func testReplayByTimeDeliversTheSecondGroupToTheSinkAgain() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_window_time; CREATE TABLE cdc_window_time (id int PRIMARY KEY, v text)"
    )
    slotsToDrop.append("cdc_window_time")
    let worker = try WorkerProcess()
    let output = worker.directory.appendingPathComponent("changes.jsonl")
    try worker.writeConnector(
      "cdc-window-time",
      connectorYAML(
        "cdc-window-time", tables: "[public.cdc_window_time]", topic: "wtime.{schema}.{table}",
        extra: "  snapshot: never\n  replay_window: 64MiB"))
    try worker.writeConnector(
      "cdc-window-time-out",
      """
      name: cdc-window-time-out
      sink: file
      topics: [wtime.public.cdc_window_time]
      config: { path: \(output.path), format: value }
      """)
    try worker.start()
    defer {
      if let run = testRun, run.failureCount > 0 { print(worker.log()) }
      _ = worker.terminate()
    }
    try waitForStreaming(worker, "cdc-window-time")
    func delivered() -> [String] {
      let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
      return text.split(separator: "\n").compactMap { line in
        guard
          let value = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let op = value["op"] as? String
        else { return nil }
        let row = (value["after"] as? [String: Any]) ?? (value["before"] as? [String: Any])
        return "\(op)\(row?["id"] as? Int ?? -1)"
      }
    }
    try cdcPSQL(url, "INSERT INTO cdc_window_time VALUES (1, 'one'), (2, 'two')")
    try waitUntil("the first group delivered", timeout: 30) { delivered().count == 2 }
    Thread.sleep(forTimeInterval: 1.2)
    let between = Date()
    Thread.sleep(forTimeInterval: 1.2)
    try cdcPSQL(
      url,
      "INSERT INTO cdc_window_time VALUES (3, 'three'); UPDATE cdc_window_time SET v = 'TWO' WHERE id = 2"
    )
    try waitUntil("the second group delivered", timeout: 30) { delivered().count == 4 }
    XCTAssertEqual(delivered(), ["c1", "c2", "c3", "u2"])

    let replayed = try runSluice([
      "replay", "cdc-window-time", "--to-time", Self.iso8601(between), "--api", worker.apiURL,
    ])
    XCTAssertEqual(replayed.status, 0, replayed.stderr)
    XCTAssertTrue(replayed.stdout.contains("the first change at or after"), replayed.stdout)
    XCTAssertTrue(replayed.stdout.contains("wtime.public.cdc_window_time/0"), replayed.stdout)
    // A sentinel change after the replay: once it is delivered, so is all the replay wrote.
    try cdcPSQL(url, "INSERT INTO cdc_window_time VALUES (4, 'four')")
    try waitUntil("the second group again and the sentinel", timeout: 30) {
      delivered().last == "c4"
    }
    XCTAssertEqual(
      delivered(), ["c1", "c2", "c3", "u2", "c3", "u2", "c4"],
      "the second group again, the first not")
    let status = try worker.getJSON("/connectors/cdc-window-time/status") as? [String: Any]
    XCTAssertEqual((status?["connector"] as? [String: Any])?["state"] as? String, "RUNNING")
  }

  func testAPatchBeforeTheConfirmedLSNIsRefusedNamingReplayWindow() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_window_refuse; CREATE TABLE cdc_window_refuse (id int PRIMARY KEY, v text)"
    )
    slotsToDrop.append("cdc_window_refuse")
    let worker = try WorkerProcess()
    // A window smaller than the WAL the test writes: the slot's confirmed LSN moves, a window
    // behind the durable point.
    try worker.writeConnector(
      "cdc-window-refuse",
      connectorYAML(
        "cdc-window-refuse", tables: "[public.cdc_window_refuse]", topic: "wref.{schema}.{table}",
        extra: "  snapshot: never\n  replay_window: 1MiB\n  heartbeat_ms: 200"))
    try worker.start()
    defer {
      if let run = testRun, run.failureCount > 0 { print(worker.log()) }
      _ = worker.terminate()
    }
    try waitForStreaming(worker, "cdc-window-refuse")
    let slotQuery =
      "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'cdc_window_refuse'"
    let created = try Self.lsn(try cdcPSQL(url, slotQuery))
    // About 4 MB of WAL (random text, which TOAST cannot compress much) in 40 transactions.
    for batch in 0..<4 {
      try cdcPSQL(
        url,
        (0..<10).map { i in
          "INSERT INTO cdc_window_refuse SELECT \(batch * 10 + i), string_agg(md5(random()::text), '') FROM generate_series(1, 3000)"
        }.joined(separator: "; "))
    }
    try waitUntil("every change in the topic", timeout: 60) {
      try worker.records("wref.public.cdc_window_refuse").count == 40
    }
    var confirmed = created
    try waitUntil("the slot confirms a window behind", timeout: 30) {
      confirmed = try Self.lsn(try cdcPSQL(self.url, slotQuery))
      return confirmed > created
    }
    let end = try Self.lsn(try cdcPSQL(url, "SELECT pg_current_wal_lsn()"))
    XCTAssertGreaterThanOrEqual(end - confirmed, 1 << 20, "at least the window stays decodable")

    XCTAssertEqual(try worker.send("PUT", "/connectors/cdc-window-refuse/stop").status, 204)
    try waitUntil("the slot released") {
      try cdcPSQL(
        self.url, "SELECT active FROM pg_replication_slots WHERE slot_name = 'cdc_window_refuse'")
        == "f"
    }
    confirmed = try Self.lsn(try cdcPSQL(url, slotQuery))
    let back = try worker.send(
      "PATCH", "/connectors/cdc-window-refuse/offsets",
      json: #"{"offsets":[{"partition":{"server":"wref"},"offset":{"lsn":\#(confirmed - 1)}}]}"#)
    XCTAssertEqual(back.status, 400)
    let message = Self.message(back.body)
    XCTAssertTrue(message.contains("before the confirmed_flush_lsn"), message)
    XCTAssertTrue(message.contains("replay_window (1.0 MiB)"), message)
    XCTAssertEqual(try Self.lsn(try cdcPSQL(url, slotQuery)), confirmed, "the slot did not move")
    // The CLI says the same and leaves the connector as it was (STOPPED).
    let refused = try runSluice([
      "replay", "cdc-window-refuse", "--to-offset", "\(confirmed - 1)", "--api", worker.apiURL,
    ])
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.stderr.contains("replay_window (1.0 MiB)"), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("left STOPPED as it was"), refused.stderr)
    XCTAssertEqual(try Self.lsn(try cdcPSQL(url, slotQuery)), confirmed)
  }

  // MARK: - Helpers

  /// Each event of the topic as its op and row id (`c2`, `u1`), tombstones left out.
  static func events(_ worker: WorkerProcess, _ topic: String) throws -> [String] {
    try worker.records(topic).compactMap { record in
      guard let value = record["value"] as? [String: Any], let op = value["op"] as? String else {
        return nil
      }
      let row = (value["after"] as? [String: Any]) ?? (value["before"] as? [String: Any])
      return "\(op)\(row?["id"] as? Int ?? -1)"
    }
  }

  static func lsn(_ text: String) throws -> UInt64 {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let high = UInt64(parts[0], radix: 16),
      let low = UInt64(parts[1], radix: 16)
    else { throw NotAnLSN(text: text) }
    return high << 32 | low
  }

  struct NotAnLSN: Error { var text: String }

  static func message(_ body: Data) -> String {
    let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    return object?["message"] as? String ?? String(decoding: body, as: UTF8.self)
  }

  static func iso8601(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
  }
}
