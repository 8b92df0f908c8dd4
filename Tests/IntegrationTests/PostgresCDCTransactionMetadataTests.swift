import Foundation
import XCTest

/// Debezium's transaction metadata (`provide_transaction_metadata`) and heartbeat records
/// (`heartbeat_topic`) from a real worker on the PostgreSQL of `make test`, across SIGKILLs:
/// every committed transaction has exactly one BEGIN and one END, whose counts are the events
/// of that transaction in the data topics, and no event is written twice. A `replay_window`
/// makes every restart stream durable transactions again, so the deduplication of BEGIN and END
/// is exercised on each one.
final class PostgresCDCTransactionMetadataTests: CDCWorkerTestCase {
  /// Transaction `n` of the workload: its SQL and the events it makes per table.
  private struct Transaction {
    var sql: String
    var events: [String: Int]
    var rolledBack = false
  }

  /// Varied transactions over two tables: 0–3 inserts into `a`, 0–2 into `b`, some updates,
  /// deletes (an event and a tombstone) and key changes (a delete and a create); every
  /// 40th rolled back; one of 2,500 changes, which spans many sends of the stream.
  private func workload(_ count: Int) -> [Transaction] {
    (1...count).map { n in
      var sql: [String] = []
      var events: [String: Int] = [:]
      let aInserts = n % 4
      for j in 0..<aInserts {
        sql.append("INSERT INTO txm_a VALUES (\(n * 10 + j), 'a\(n)');")
        events["public.txm_a", default: 0] += 1
      }
      for j in 0..<(n * 7) % 3 {
        sql.append("INSERT INTO txm_b VALUES (\(n * 10 + j), 'b\(n)');")
        events["public.txm_b", default: 0] += 1
      }
      if sql.isEmpty {
        sql.append("INSERT INTO txm_b VALUES (\(n * 10), 'b\(n)');")
        events["public.txm_b", default: 0] += 1
      }
      if aInserts >= 2, n % 3 == 0 {
        sql.append("DELETE FROM txm_a WHERE id = \(n * 10);")
        events["public.txm_a", default: 0] += 1
      }
      if aInserts >= 3, n % 2 == 1 {
        // A key change: a delete of the old key and a create of the new.
        sql.append("UPDATE txm_a SET id = \(n * 10 + 9) WHERE id = \(n * 10 + 2);")
        events["public.txm_a", default: 0] += 2
      }
      if events["public.txm_b"] != nil, n % 5 == 0 {
        sql.append("UPDATE txm_b SET v = 'u' WHERE id = \(n * 10);")
        events["public.txm_b", default: 0] += 1
      }
      if n == count / 2 + 1 {
        sql.append(
          "INSERT INTO txm_a SELECT 1000000 + g, 'big' FROM generate_series(1, 2500) g;")
        events["public.txm_a", default: 0] += 2500
      }
      let rolledBack = n % 40 == 0
      return Transaction(
        sql: "BEGIN;\n" + sql.joined(separator: "\n") + (rolledBack ? "\nROLLBACK;" : "\nCOMMIT;"),
        events: events, rolledBack: rolledBack)
    }
  }

  func testEveryTransactionHasOneBeginAndOneEndCountingItsEventsAcrossSIGKILL() throws {
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS txm_a, txm_b, txm_end;
      CREATE TABLE txm_a (id int PRIMARY KEY, v text);
      CREATE TABLE txm_b (id int PRIMARY KEY, v text);
      CREATE TABLE txm_end (id int PRIMARY KEY);
      """)
    slotsToDrop.append("txm_crash")
    let transactions = workload(800)
    let committed = transactions.filter { !$0.rolledBack }
    let worker = try WorkerProcess()
    try worker.useThreePartitions()
    try worker.writeConnector(
      "txm-crash",
      connectorYAML(
        "txm-crash", tables: "[public.txm_a, public.txm_b, public.txm_end]", topic: "txm.{table}",
        extra: """
            snapshot: never
            provide_transaction_metadata: true
            heartbeat_topic: true
            heartbeat_ms: 300
            replay_window: 4MiB
          """))
    let started = Date()
    try worker.start()
    try waitForStreaming(worker, "txm-crash")
    let chunks = stride(from: 0, to: transactions.count, by: 25).map { start in
      transactions[start..<min(start + 25, transactions.count)].map(\.sql).joined(
        separator: "\n")
    }
    // Spaced so the load outlasts at least two of the kills on any machine (about 8 s).
    let runner = CDCWorkload.Runner.start(chunks, url: url, spacing: 0.25)
    let crashes = try CrashLoop(atLeast: 3, atMost: 3, pauses: 0.3...1.2, startTimeout: 60)
      .run(worker, while: { !runner.finished }, busy: { !runner.finished })
    XCTAssertNil(runner.failure)
    XCTAssertGreaterThanOrEqual(crashes.whileBusy, 2, "kills while transactions were committed")

    var ends: [[String: Any]] = []
    try waitUntil("an END for each of \(committed.count) transactions", timeout: 120) {
      ends = try worker.records("txm-crash.transaction").filter {
        ($0["value"] as? [String: Any])?["status"] as? String == "END"
      }
      return ends.count >= committed.count
    }
    // BEGIN and END per xid (the id's first half; Debezium's ids end in each record's LSN).
    func xid(_ id: Any?) -> Int? { (id as? String).flatMap { Int($0.split(separator: ":")[0]) } }
    // A sentinel transaction, committed last: once its END is in, so is any repeat.
    let sentinel = try XCTUnwrap(
      Int(
        try cdcPSQL(
          url, "BEGIN; INSERT INTO txm_end VALUES (1); SELECT txid_current(); COMMIT;")))
    try waitUntil("the sentinel transaction's END", timeout: 60) {
      try worker.records("txm-crash.transaction").contains {
        let value = $0["value"] as? [String: Any]
        return value?["status"] as? String == "END" && xid(value?["id"]) == sentinel
      }
    }
    let metadata = try worker.records("txm-crash.transaction").filter {
      xid(($0["value"] as? [String: Any])?["id"]) != sentinel
    }
    var events: [[String: Any]] = []
    for table in ["txm_a", "txm_b"] { events += try worker.records("txm.\(table)") }

    var begins: [Int: Int] = [:]
    var endOf: [Int: [String: Any]] = [:]
    for record in metadata {
      let value = try XCTUnwrap(record["value"] as? [String: Any])
      let key = try XCTUnwrap(record["key"] as? [String: Any])
      let id = try XCTUnwrap(value["id"] as? String)
      XCTAssertEqual(key["id"] as? String, id)
      XCTAssertNotNil(id.range(of: #"^[0-9]+:[0-9]+$"#, options: .regularExpression), id)
      let x = try XCTUnwrap(xid(id))
      switch value["status"] as? String {
      case "BEGIN": begins[x, default: 0] += 1
      case "END":
        XCTAssertNil(endOf[x], "a second END of transaction \(x)")
        endOf[x] = value
      default: XCTFail("\(value)")
      }
    }
    XCTAssertEqual(begins.count, committed.count, "transactions with a BEGIN")
    XCTAssertEqual(begins.values.filter { $0 != 1 }.count, 0, "transactions with BEGIN twice")
    XCTAssertEqual(Set(begins.keys), Set(endOf.keys), "a BEGIN without END or the reverse")

    // The events of each transaction, by the xid of their block; no event twice.
    var seen = Set<String>()
    var counted: [Int: [String: Int]] = [:]
    var numberOf: [Int: Int] = [:]  // xid → the workload's transaction number
    for event in events {
      guard let value = event["value"] as? [String: Any] else { continue }  // tombstone
      let block = try XCTUnwrap(value["transaction"] as? [String: Any], "\(value)")
      let source = try XCTUnwrap(value["source"] as? [String: Any])
      let x = try XCTUnwrap(xid(block["id"]))
      XCTAssertEqual(x, source["txId"] as? Int)
      let order = try XCTUnwrap(block["total_order"] as? Int)
      XCTAssertTrue(seen.insert("\(x)/\(order)").inserted, "event \(order) of \(x) twice")
      let table = "public.\(source["table"] as? String ?? "?")"
      counted[x, default: [:]][table, default: 0] += 1
      let row = (value["after"] as? [String: Any]) ?? (value["before"] as? [String: Any])
      if let id = row?["id"] as? Int, id < 1_000_000 { numberOf[x] = id / 10 }
    }
    XCTAssertEqual(counted.count, committed.count, "transactions with events")
    XCTAssertEqual(
      seen.count, committed.map { $0.events.values.reduce(0, +) }.reduce(0, +), "events")
    for (x, end) in endOf {
      let perTable = counted[x] ?? [:]
      XCTAssertEqual(end["event_count"] as? Int, perTable.values.reduce(0, +), "END of \(x)")
      let collections = (end["data_collections"] as? [[String: Any]] ?? []).map {
        ($0["data_collection"] as? String ?? "?", $0["event_count"] as? Int ?? -1)
      }
      XCTAssertEqual(
        Dictionary(collections, uniquingKeysWith: +), perTable, "END of \(x)'s tables")
      // And what the workload made in that transaction.
      if let n = numberOf[x] {
        XCTAssertEqual(perTable, transactions[n - 1].events, "transaction \(n) (\(x))")
      } else {
        XCTFail("transaction \(x) has no row of the workload")
      }
    }

    let beats = try worker.records("__debezium-heartbeat.txm-crash")
    XCTAssertGreaterThan(beats.count, 0)
    XCTAssertEqual(canonicalJSON(beats.first?["key"]), canonicalJSON(["serverName": "txm-crash"]))
    XCTAssertNotNil((beats.first?["value"] as? [String: Any])?["ts_ms"] as? Int)
    let replays = worker.log().components(separatedBy: "skipped changes already durable").count - 1
    // The replay window streams what is durable again at every start: BEGIN, END and events
    // of those transactions are made again and dropped, whatever moment the kills hit.
    XCTAssertGreaterThanOrEqual(replays, 1, "restarts that streamed durable records again")
    print(
      String(
        format:
          "CDC transaction metadata crash test: %d kills (%d while loading), %d replays with records already durable skipped, %d transactions, %d events, %d heartbeat records, %.1f s",
        crashes.kills, crashes.whileBusy, replays, committed.count, seen.count, beats.count,
        Date().timeIntervalSince(started)))
    XCTAssertNotNil(worker.terminate())
  }
}
