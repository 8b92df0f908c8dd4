import Foundation
import XCTest

/// `sluice replay` on a CDC pipeline against the PostgreSQL of `make test`: the CDC source
/// without a `replay_window` is refused with the reason (its slot cannot stream from before
/// `confirmed_flush_lsn`, and what it could stream is in the topic already, unless a window
/// keeps WAL behind; ``CDCReplayWindowTests``) and left running with its slot where it was; the
/// sink that reads its topic replays the change events by time, from the log.
final class CDCReplayTests: CDCWorkerTestCase {
  func testCDCSourceIsRefusedAndItsSinkReplaysTheChangesByTime() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_replay; CREATE TABLE cdc_replay (id int PRIMARY KEY, v text)")
    slotsToDrop.append("cdc_replay")
    let worker = try WorkerProcess()
    let output = worker.directory.appendingPathComponent("changes.jsonl")
    try worker.writeConnector(
      "cdc-replay",
      connectorYAML(
        "cdc-replay", tables: "[public.cdc_replay]", topic: "rpl.{schema}.{table}",
        extra: "  snapshot: never"))
    try worker.writeConnector(
      "cdc-replay-out",
      """
      name: cdc-replay-out
      sink: file
      topics: [rpl.public.cdc_replay]
      config: { path: \(output.path), format: value }
      """)
    try worker.start()
    defer {
      if let run = testRun, run.failureCount > 0 { print(worker.log()) }
      _ = worker.terminate()
    }
    try waitForStreaming(worker, "cdc-replay")
    func delivered() -> [String] {
      let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
      return text.split(separator: "\n").compactMap { line in
        guard
          let value = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let op = value["op"] as? String
        else { return nil }
        return "\(op)\((value["after"] as? [String: Any])?["id"] as? Int ?? -1)"
      }
    }
    try cdcPSQL(url, "INSERT INTO cdc_replay VALUES (1, 'one'), (2, 'two')")
    try waitUntil("the first two changes delivered", timeout: 30) { delivered().count == 2 }
    Thread.sleep(forTimeInterval: 1.2)
    let between = Date()
    Thread.sleep(forTimeInterval: 1.2)
    try cdcPSQL(url, "INSERT INTO cdc_replay VALUES (3, 'three')")
    try waitUntil("the third change delivered", timeout: 30) { delivered().count == 3 }

    // The source: refused, with PostgreSQL's reason and where to go instead; nothing moves.
    let slotBefore = try cdcPSQL(
      url, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'cdc_replay'")
    let refused = try runSluice([
      "replay", "cdc-replay", "--to-time", Self.iso8601(between), "--api", worker.apiURL,
    ])
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.stderr.contains("PostgreSQL CDC source"), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("confirmed_flush_lsn"), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("replay the sink connectors"), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("without a replay_window"), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("set replay_window in its config"), refused.stderr)
    let status = try worker.getJSON("/connectors/cdc-replay/status") as? [String: Any]
    XCTAssertEqual((status?["connector"] as? [String: Any])?["state"] as? String, "RUNNING")
    let slotAfter = try cdcPSQL(
      url, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'cdc_replay'")
    XCTAssertEqual(
      lsnValue(slotAfter) >= lsnValue(slotBefore), true, "\(slotBefore) → \(slotAfter)")

    // The sink of its topic: the change after the time, again, and only it.
    let replayed = try runSluice([
      "replay", "cdc-replay-out", "--to-time", Self.iso8601(between), "--api", worker.apiURL,
    ])
    XCTAssertEqual(replayed.status, 0, replayed.stderr)
    XCTAssertTrue(replayed.stdout.contains("rpl.public.cdc_replay/0: 3 → 2"), replayed.stdout)
    try waitUntil("the third change again", timeout: 30) { delivered().count == 4 }
    XCTAssertEqual(delivered(), ["c1", "c2", "c3", "c3"])
  }

  private func lsnValue(_ text: String) -> UInt64 {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let high = UInt64(parts[0], radix: 16),
      let low = UInt64(parts[1], radix: 16)
    else { return 0 }
    return high << 32 | low
  }

  private static func iso8601(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
  }
}
