import Foundation
import XCTest

/// Debezium's snapshot signals beyond the plain incremental one, in a real worker against a
/// real PostgreSQL: `data-collections` as regular expressions, `surrogate-key` (a table
/// without a primary key read in chunks), and blocking snapshots — streaming stopped while
/// the tables are read, with a workload writing and a SIGKILL in the middle.
final class PostgresCDCSnapshotSignalTests: CDCWorkerTestCase {
  // MARK: - data-collections as regular expressions

  func testDataCollectionsAreRegularExpressionsOverTheWholeTableId() throws {
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS rx_a, rx_b, rx_other, rx_signals;
      CREATE TABLE rx_a (id int PRIMARY KEY, v bigint NOT NULL);
      CREATE TABLE rx_b (id int PRIMARY KEY, v bigint NOT NULL);
      CREATE TABLE rx_other (id int PRIMARY KEY, v bigint NOT NULL);
      INSERT INTO rx_a SELECT g, 0 FROM generate_series(1, 300) g;
      INSERT INTO rx_b SELECT g, 0 FROM generate_series(1, 200) g;
      INSERT INTO rx_other SELECT g, 0 FROM generate_series(1, 100) g;
      CREATE TABLE rx_signals (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data text);
      """)
    slotsToDrop.append("rx")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "rx",
      connectorYAML(
        "rx", tables: "[rx_a, rx_b, rx_other]", topic: "rx.{table}",
        extra: """
            snapshot: never
            signal_data_collection: public.rx_signals
            incremental_chunk_size: 64
          """))
    try worker.start()
    try waitForStreaming(worker, "rx")
    func reads(_ table: String) -> Int {
      ((try? worker.records("rx.\(table)")) ?? []).filter {
        ($0["value"] as? [String: Any])?["op"] as? String == "r"
      }.count
    }

    // `public\.rx_[ab]` selects two of the three captured tables, never the signal table.
    let (status, body) = try worker.post(
      "/connectors/rx/signals",
      json:
        #"{"id":"rx-1","type":"execute-snapshot","data":{"data-collections":["public\\.rx_[ab]"],"additional-conditions":[{"data-collection":"public\\.rx_b","filter":"id <= 50"}]}}"#
    )
    XCTAssertEqual(status, 202, String(decoding: body, as: UTF8.self))
    try waitUntil("the expression's snapshot", timeout: 60) {
      worker.log().contains("incremental snapshot rx-1 completed")
    }
    XCTAssertTrue(worker.log().contains("matches public.rx_a, public.rx_b"), "in the log")
    XCTAssertEqual(reads("rx_a"), 300)
    XCTAssertEqual(reads("rx_b"), 50, "the condition selected by an expression applies")
    XCTAssertEqual(reads("rx_other"), 0, "not matched")
    XCTAssertEqual(try worker.get("/topics/rx.rx_signals").status, 404)

    // An expression is matched against the whole `schema.table`: `rx_other` alone is no id.
    let (partial, _) = try worker.post(
      "/connectors/rx/signals",
      json: #"{"id":"rx-2","type":"execute-snapshot","data":{"data-collections":["rx_oth.*"]}}"#)
    XCTAssertEqual(partial, 202)
    try waitUntil("the warning", timeout: 30) {
      self.warning(worker, "rx").contains("/rx_oth.*/ matches no captured table")
    }
    XCTAssertEqual(reads("rx_other"), 0)

    // A plain name still names its table.
    try cdcPSQL(
      url,
      #"INSERT INTO rx_signals VALUES ('rx-3', 'execute-snapshot', '{"data-collections": ["rx_other"]}')"#
    )
    try waitUntil("the plain name's snapshot", timeout: 60) {
      worker.log().contains("incremental snapshot rx-3 completed")
    }
    XCTAssertEqual(reads("rx_other"), 100)

    // An expression that does not compile: a 400 with the reason from the API, a warning from
    // the signal table.
    let (refused, answer) = try worker.post(
      "/connectors/rx/signals",
      json: #"{"id":"bad","type":"execute-snapshot","data":{"data-collections":["public.(rx"]}}"#)
    XCTAssertEqual(refused, 400)
    let reason =
      (try? JSONSerialization.jsonObject(with: answer) as? [String: Any])?["message"] as? String
      ?? ""
    XCTAssertTrue(reason.contains("\"public.(rx\" is not a valid regular expression"), reason)
    try cdcPSQL(
      url,
      #"INSERT INTO rx_signals VALUES ('bad', 'execute-snapshot', '{"data-collections": ["public.(rx"]}')"#
    )
    try waitUntil("the signal table's warning", timeout: 30) {
      self.warning(worker, "rx").contains("a signal was ignored: \"public.(rx\" is not a valid")
    }
    XCTAssertEqual(taskStatus(worker, "rx")?["state"] as? String, "RUNNING")
    XCTAssertNotNil(worker.terminate())
  }

  // MARK: - surrogate-key

  func testASurrogateKeyReadsATableWithoutAPrimaryKeyWhileItChanges() throws {
    let rows = 6000
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS sk_nokey, sk_keyed;
      CREATE TABLE sk_nokey (id int NOT NULL, v bigint NOT NULL);
      CREATE UNIQUE INDEX sk_nokey_id ON sk_nokey (id);
      ALTER TABLE sk_nokey REPLICA IDENTITY FULL;
      INSERT INTO sk_nokey SELECT g, 0 FROM generate_series(1, \(rows)) g;
      CREATE TABLE sk_keyed (id int PRIMARY KEY, code text NOT NULL UNIQUE);
      INSERT INTO sk_keyed SELECT g, md5(g::text) FROM generate_series(1, 500) g;
      """)
    slotsToDrop.append("sk")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "sk",
      connectorYAML(
        "sk", tables: "[sk_nokey, sk_keyed]", topic: "sk.{table}",
        extra: """
            snapshot: never
            incremental_chunk_size: 250
          """))
    try worker.start()
    try waitForStreaming(worker, "sk")

    // Without a surrogate key the keyless table is skipped, and the warning says what to do.
    _ = try worker.post(
      "/connectors/sk/signals",
      json: #"{"id":"nk","type":"execute-snapshot","data":{"data-collections":["sk_nokey"]}}"#)
    try waitUntil("the warning", timeout: 30) {
      self.warning(worker, "sk").contains("surrogate-key")
    }

    let workload = Workload(url: url, table: "sk_nokey", rows: rows, iterations: 2000)
    let (status, body) = try worker.post(
      "/connectors/sk/signals",
      json:
        #"{"id":"sk-1","type":"execute-snapshot","data":{"data-collections":["sk_nokey"],"surrogate-key":"id"}}"#
    )
    XCTAssertEqual(status, 202, String(decoding: body, as: UTF8.self))
    try waitUntil("the surrogate-keyed snapshot", timeout: 90) {
      worker.log().contains("incremental snapshot sk-1 completed")
    }
    try waitUntil("the workload's end", timeout: 60) { workload.finished }
    XCTAssertNil(workload.failure)
    XCTAssertTrue(
      worker.log().contains("public.sk_nokey read in"), "read in chunks of 250: \(rows / 250)+")

    // The topic has no keys; replayed by the rows' own id it rebuilds the table, and no read
    // is older than a change before it.
    try sentinel(worker, table: "sk_nokey", topic: "sk.sk_nokey")
    let expected = try tableRows("sk_nokey")
    var replay = KeylessReplay(records: [])
    try waitUntil("the topic to equal the table", timeout: 60) {
      replay = KeylessReplay(records: try worker.records("sk.sk_nokey"))
      return replay.state == expected
    }
    XCTAssertEqual(replay.violations, [])
    XCTAssertEqual(replay.duplicateReads, 0)
    XCTAssertGreaterThanOrEqual(replay.reads, rows - 1000, "the rows not deleted meanwhile")
    XCTAssertTrue(replay.keys.allSatisfy { $0 == nil }, "events of a keyless table have no key")

    // A keyed table read by another unique column: every row once, keyed by its primary key.
    _ = try worker.post(
      "/connectors/sk/signals",
      json:
        #"{"id":"sk-2","type":"execute-snapshot","data":{"data-collections":["sk_keyed"],"surrogate-key":"code"}}"#
    )
    try waitUntil("the second snapshot", timeout: 60) {
      worker.log().contains("incremental snapshot sk-2 completed")
    }
    let keyed = try worker.records("sk.sk_keyed")
    let ids = keyed.compactMap { ($0["key"] as? [String: Any])?["id"] as? Int }
    XCTAssertEqual(ids.count, 500)
    XCTAssertEqual(Set(ids).count, 500)
    let codes = keyed.compactMap {
      (($0["value"] as? [String: Any])?["after"] as? [String: Any])?["code"] as? String
    }
    XCTAssertEqual(codes, codes.sorted(), "read in the surrogate key's order")
    XCTAssertNotEqual(ids, ids.sorted(), "not in the primary key's")
    XCTAssertNotNil(worker.terminate())
  }

  // MARK: - Blocking snapshots

  func testABlockingSnapshotStopsStreamingReadsEveryRowOnceThenStreamsOn() throws {
    let rows = 20_000
    try prepare("blk", rows: rows)
    slotsToDrop.append("blk")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "blk", connectorYAML("blk", tables: "[blk]", topic: "blk.{table}", extra: "  snapshot: never")
    )
    try worker.start()
    try waitForStreaming(worker, "blk")
    let workload = Workload(url: url, table: "blk", rows: rows, iterations: 4000)
    try waitUntil("some changes streamed", timeout: 30) {
      try worker.records("blk.blk").count > 50
    }
    let (status, body) = try worker.post(
      "/connectors/blk/signals",
      json:
        #"{"id":"blk-1","type":"execute-snapshot","data":{"data-collections":["public\\.bl[k]","public\\.none_.*"],"type":"blocking"}}"#
    )
    XCTAssertEqual(status, 202, String(decoding: body, as: UTF8.self))
    try waitUntil("the blocking snapshot", timeout: 60) {
      worker.log().contains("blocking snapshot completed")
    }
    XCTAssertEqual(detail(worker, "blk", "blocking_snapshot"), "completed blk-1: public.blk")
    XCTAssertTrue(
      warning(worker, "blk").contains("/public\\.none_.*/ selects no captured table"),
      warning(worker, "blk"))
    try waitUntil("the workload's end", timeout: 60) { workload.finished }
    XCTAssertNil(workload.failure)
    let replay = try waitForTopicToEqualTable(worker, "blk.blk", table: "blk", slot: "blk")
    XCTAssertEqual(replay.violations, [])
    let check = BlockingCheck(records: try worker.records("blk.blk"))
    XCTAssertEqual(check.duplicateReads, 0, "every row once as r")
    XCTAssertGreaterThanOrEqual(check.reads, rows - 2000, "the rows not deleted before it")
    XCTAssertEqual(check.changesAmongReads, 0, "streaming stopped while the table was read")
    XCTAssertEqual(check.firstMark, "first")
    XCTAssertEqual(check.lastMark, "last")
    XCTAssertEqual(check.duplicateChanges, [], "no streamed change twice")
    XCTAssertGreaterThan(check.changesAfterReads, 0, "streaming went on after it")
    print(
      "blocking snapshot: \(check.reads) reads in one run, \(check.changesAfterReads) changes streamed after them"
    )
    XCTAssertNotNil(worker.terminate())
  }

  func testABlockingSnapshotResumesAfterASIGKILLWithNoRowOrChangeTwice() throws {
    let rows = 1_000_000
    try prepare("blk_kill", rows: rows)
    slotsToDrop.append("blk_kill")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "blk-kill",
      connectorYAML(
        "blk-kill", tables: "[blk_kill]", topic: "kill.{table}",
        // Flat rows (the fused unwrap): a million records read back quickly.
        extra: """
            snapshot: never
          transforms:
            - name: unwrap
              type: io.debezium.transforms.ExtractNewRecordState
              delete.tombstone.handling.mode: rewrite
              add.fields: op
          """))
    addTeardownBlock { [weak self] in
      if (self?.testRun?.failureCount ?? 0) > 0 { print(worker.log().suffix(8000)) }
    }
    try worker.start()
    try waitForStreaming(worker, "blk-kill")
    let workload = Workload(
      url: url, table: "blk_kill", rows: rows, iterations: 100_000, seconds: 25)
    let (status, body) = try worker.post(
      "/connectors/blk-kill/signals",
      json:
        #"{"id":"blk-2","type":"execute-snapshot","data":{"data-collections":["public.blk_kill"],"type":"blocking"}}"#
    )
    XCTAssertEqual(status, 202, String(decoding: body, as: UTF8.self))
    // Killed once rows of the snapshot are durable and before it ends.
    try waitUntil("the snapshot under way", timeout: 60) {
      self.detail(worker, "blk-kill", "snapshot_rows").flatMap(Int.init) ?? 0 > 10_000
    }
    XCTAssertFalse(worker.log().contains("blocking snapshot completed"), "killed while it reads")
    worker.kill9()
    try worker.start(timeout: 60)
    try waitUntil("the resumed snapshot's end", timeout: 180) {
      worker.log().contains("blocking snapshot completed")
        || self.detail(worker, "blk-kill", "blocking_snapshot")?.hasPrefix("completed") == true
    }
    XCTAssertTrue(worker.log().contains("resuming the interrupted blocking snapshot"))
    try waitUntil("the workload's end", timeout: 60) { workload.finished }
    XCTAssertNil(workload.failure)
    let replay = try waitForTopicToEqualTable(
      worker, "kill.blk_kill", table: "blk_kill", slot: "blk_kill")
    XCTAssertEqual(replay.violations, [])
    let check = BlockingCheck(records: try worker.records("kill.blk_kill"))
    XCTAssertEqual(check.duplicateReads, 0, "rows durable before the kill are not read again")
    XCTAssertGreaterThanOrEqual(check.reads, rows - 30_000, "the rows not deleted before it")
    XCTAssertEqual(check.duplicateChanges, [], "no streamed change twice")
    print("blocking snapshot of \(rows) rows with a SIGKILL: \(check.reads) reads")
    XCTAssertNotNil(worker.terminate())
  }
}

extension PostgresCDCSnapshotSignalTests {
  /// Commits a row `(id, v)` with a new id to `table` and waits for it in `topic`: every
  /// change committed before it is in the topic then (PostgreSQL decodes in commit order).
  func sentinel(_ worker: WorkerProcess, table: String, topic: String) throws {
    let id = Int(try cdcPSQL(url, "SELECT coalesce(max(id), 0) + 1000 FROM \(table)"))!
    try cdcPSQL(url, "INSERT INTO \(table) VALUES (\(id), 0)")
    try waitUntil("the sentinel row of \(table) in \(topic)", timeout: 60) {
      try worker.records(topic).contains { record in
        guard let value = record["value"] as? [String: Any] else { return false }
        return ((value["after"] as? [String: Any])?["id"] ?? value["id"]) as? Int == id
      }
    }
  }
}

/// A keyless topic (one partition) replayed in order by the rows' own `id`.
struct KeylessReplay {
  var state: [Int: Int] = [:]
  var violations: [String] = []
  var reads = 0
  var duplicateReads = 0
  var keys: [String?] = []

  init(records: [[String: Any]]) {
    var last: [Int: Int] = [:]
    var read: Set<Int> = []
    for record in records {
      guard let value = record["value"] as? [String: Any], let op = value["op"] as? String else {
        continue
      }
      keys.append(record["key"].flatMap { $0 is NSNull ? nil : "\($0)" })
      let after = value["after"] as? [String: Any]
      let before = value["before"] as? [String: Any]
      guard let id = (after?["id"] ?? before?["id"]) as? Int else { continue }
      let v = after?["v"] as? Int
      switch op {
      case "r":
        reads += 1
        if !read.insert(id).inserted { duplicateReads += 1 }
        if let v, let previous = last[id], v < previous, violations.count < 10 {
          violations.append("\(id): read of v=\(v) after v=\(previous)")
        }
        fallthrough
      case "c", "u":
        if let v {
          state[id] = v
          last[id] = v
        }
      case "d":
        state[id] = nil
      default: break
      }
    }
  }
}

/// What a blocking snapshot must leave in a topic of one partition: its reads, each row once
/// and in one run (no streamed change among them), marked `first` … `last` as the initial
/// snapshot's are, and every streamed change once.
struct BlockingCheck {
  var reads = 0
  var duplicateReads = 0
  var changesAmongReads = 0
  var changesAfterReads = 0
  var firstMark: String?
  var lastMark: String?
  /// Changes that appear twice: an update's (id, v), an insert's or a delete's id.
  var duplicateChanges: [String] = []

  init(records: [[String: Any]]) {
    var read: Set<Int> = []
    var seen: Set<String> = []
    var pendingChanges = 0
    for record in records {
      // The envelope, or a flat row with `__op` (unwrap, deletes rewritten).
      guard let value = record["value"] as? [String: Any],
        let op = (value["op"] ?? value["__op"]) as? String,
        let id = (record["key"] as? [String: Any])?["id"] as? Int
      else { continue }
      if op == "r" {
        reads += 1
        if !read.insert(id).inserted { duplicateReads += 1 }
        let mark = (value["source"] as? [String: Any])?["snapshot"] as? String
        if firstMark == nil { firstMark = mark }
        lastMark = mark
        changesAmongReads += pendingChanges
        pendingChanges = 0
        continue
      }
      if reads > 0 { pendingChanges += 1 }
      let v = ((value["after"] as? [String: Any])?["v"] ?? value["v"]) as? Int
      let change = op == "u" ? "u \(id) \(v ?? -1)" : "\(op) \(id)"
      if !seen.insert(change).inserted, duplicateChanges.count < 10 {
        duplicateChanges.append(change)
      }
    }
    changesAfterReads = pendingChanges
  }
}
