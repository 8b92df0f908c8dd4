import Foundation
import XCTest

/// Incremental snapshots on signal in a real worker against a real PostgreSQL: signals through
/// the admin API and through the signal table, chunks read while a workload changes the
/// table, SIGKILLs in the middle, pause / resume / stop, and bad signals.
///
/// What each test checks of the topic: replayed in order, it rebuilds the table exactly, and
/// no key ever shows a snapshot read (`op: "r"`) older than a change the topic gave before it
/// (the workload only increments `v`, and never brings a deleted key back).
final class PostgresCDCIncrementalSnapshotTests: CDCWorkerTestCase {
  // MARK: - Signals while the table changes

  func testSignalsThroughTheAPIAndTheSignalTableSnapshotATableWhileItChanges() throws {
    let rows = 20_000
    try prepare("inc_a", rows: rows, signalTable: "inc_signals")
    slotsToDrop.append("inc_sig")
    let worker = try WorkerProcess()
    try worker.useThreePartitions()
    try worker.writeConnector(
      "inc-sig",
      connectorYAML(
        "inc-sig", tables: "[inc_a]", topic: "inc.{schema}.{table}",
        extra: """
            snapshot: never
            signal_data_collection: public.inc_signals
            incremental_chunk_size: 500
          """))
    try worker.start()
    try waitForStreaming(worker, "inc-sig")
    let workload = Workload(url: url, table: "inc_a", rows: rows, iterations: 3000)

    let (status, body) = try worker.post(
      "/connectors/inc-sig/signals",
      json:
        #"{"id":"api-1","type":"execute-snapshot","data":{"data-collections":["public.inc_a"],"type":"incremental"}}"#
    )
    XCTAssertEqual(status, 202, String(decoding: body, as: UTF8.self))
    try waitUntil("the API's snapshot", timeout: 60) {
      worker.log().contains("incremental snapshot api-1 completed")
    }
    try cdcPSQL(
      url,
      #"INSERT INTO inc_signals VALUES ('table-1', 'execute-snapshot', '{"data-collections": ["public.inc_a"]}')"#
    )
    try waitUntil("the signal table's snapshot", timeout: 60) {
      worker.log().contains("incremental snapshot table-1 completed")
    }
    try waitUntil("the workload's end", timeout: 60) { workload.finished }
    XCTAssertNil(workload.failure)
    let replay = try waitForTopicToEqualTable(
      worker, "inc.public.inc_a", table: "inc_a", slot: "inc_sig")
    XCTAssertEqual(replay.violations, [], "older reads after newer changes")
    XCTAssertGreaterThanOrEqual(replay.reads, 2 * (rows - rows / 5), "two snapshots' reads")
    XCTAssertTrue(replay.sawIncrementalSource, "source.snapshot is \"incremental\"")
    XCTAssertEqual(
      try worker.get("/topics/inc.public.inc_signals").status, 404,
      "the signal table is not captured")
    print(
      "incremental snapshot (API + signal table): \(replay.reads) reads, \(replay.events) events, \(replay.state.count) rows"
    )
    XCTAssertNotNil(worker.terminate())
  }

  // MARK: - Exactly once across SIGKILLs

  func testAMillionRowSnapshotWhileKeysChangeSurvivesThreeSIGKILLs() throws {
    let rows = 1_000_000
    try prepare("inc_big", rows: rows)
    slotsToDrop.append("inc_big")
    let worker = try WorkerProcess()
    try worker.useThreePartitions()
    try worker.writeConnector(
      "inc-big",
      connectorYAML(
        "inc-big", tables: "[inc_big]", topic: "big.{table}",
        // Flat rows (the fused unwrap renders the chunks' rows too): a million records
        // read back quickly.
        extra: """
            snapshot: never
            incremental_chunk_size: 40000
          transforms:
            - name: unwrap
              type: io.debezium.transforms.ExtractNewRecordState
              delete.tombstone.handling.mode: rewrite
              add.fields: op
          """))
    try worker.start()
    try waitForStreaming(worker, "inc-big")
    let workload = Workload(
      url: url, table: "inc_big", rows: rows, iterations: 100_000, seconds: 20)
    let (status, body) = try worker.post(
      "/connectors/inc-big/signals",
      json:
        #"{"id":"big","type":"execute-snapshot","data":{"data-collections":["public.inc_big"]}}"#
    )
    XCTAssertEqual(status, 202, String(decoding: body, as: UTF8.self))
    let started = Date()
    var killsWhileReading = 0
    let outcome = try CrashLoop(atLeast: 3, atMost: 3, pauses: 1.0...2.5, startTimeout: 60).run(
      worker, while: { true },
      busy: {
        let reading = !worker.log().contains("incremental snapshot big completed")
        if reading { killsWhileReading += 1 }
        return reading
      })
    try waitUntil("the snapshot's end", timeout: 120) {
      worker.log().contains("incremental snapshot big completed")
    }
    let took = Date().timeIntervalSince(started)
    print("incremental snapshot of \(rows) rows read in \(String(format: "%.1f", took)) s")
    try waitUntil("the workload's end", timeout: 60) { workload.finished }
    XCTAssertNil(workload.failure)
    XCTAssertEqual(killsWhileReading, 3, "every kill landed while chunks were being read")
    let replay = try waitForTopicToEqualTable(
      worker, "big.inc_big", table: "inc_big", slot: "inc_big")
    XCTAssertEqual(replay.violations, [], "older reads after newer changes")
    XCTAssertGreaterThanOrEqual(replay.reads, rows - 10_000, "the rows not changed meanwhile")
    XCTAssertEqual(replay.duplicateReads, 0, "a row read twice")
    print(
      "incremental snapshot of \(rows) rows with \(outcome.kills) SIGKILLs: \(String(format: "%.1f", took)) s, \(replay.reads) reads, \(replay.events) events"
    )
    XCTAssertNotNil(worker.terminate())
  }

  // MARK: - Pause, resume, stop

  func testPauseHoldsTheSnapshotResumeGoesOnStopEndsIt() throws {
    let rows = 40_000
    try prepare("inc_ctl", rows: rows)
    slotsToDrop.append("inc_ctl")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "inc-ctl",
      connectorYAML(
        "inc-ctl", tables: "[inc_ctl]", topic: "ctl.{table}",
        extra: """
            snapshot: never
            incremental_chunk_size: 50
          """))
    try worker.start()
    try waitForStreaming(worker, "inc-ctl")
    func signal(_ type: String, _ data: String = "null") throws {
      let (status, body) = try worker.post(
        "/connectors/inc-ctl/signals", json: #"{"id":"\#(type)","type":"\#(type)","data":\#(data)}"#
      )
      XCTAssertEqual(status, 202, String(decoding: body, as: UTF8.self))
    }
    func reads() -> Int {
      ((try? worker.records("ctl.inc_ctl")) ?? []).count
    }
    try signal("execute-snapshot", #"{"data-collections":["inc_ctl"]}"#)
    try waitUntil("some chunks", timeout: 30) { reads() > 0 }
    try signal("pause-snapshot")
    try waitUntil("paused", timeout: 30) {
      self.detail(worker, "inc-ctl", "incremental_snapshot")?.hasPrefix("paused") == true
    }
    Thread.sleep(forTimeInterval: 0.5)  // a chunk read before the pause may still land
    let paused = reads()
    Thread.sleep(forTimeInterval: 1.5)
    XCTAssertEqual(reads(), paused, "no chunk while paused")
    XCTAssertLessThan(paused, rows)
    try signal("resume-snapshot")
    try waitUntil("reading again", timeout: 30) { reads() > paused + 100 }
    try signal("stop-snapshot")
    try waitUntil("stopped", timeout: 30) {
      self.detail(worker, "inc-ctl", "incremental_snapshot") == "idle"
    }
    Thread.sleep(forTimeInterval: 0.5)
    let stopped = reads()
    Thread.sleep(forTimeInterval: 1.5)
    XCTAssertEqual(reads(), stopped, "no chunk once stopped")
    XCTAssertLessThan(stopped, rows, "stopped before the end")
    XCTAssertNotNil(worker.terminate())
  }

  // MARK: - Bad signals

  func testBadSignalsAreRefusedWithTheReasonAndAnUnknownTableIsAWarning() throws {
    try prepare("inc_bad", rows: 10, signalTable: "inc_bad_signals")
    slotsToDrop.append("inc_bad")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "inc-bad",
      connectorYAML(
        "inc-bad", tables: "[inc_bad]", topic: "bad.{table}",
        extra: """
            snapshot: never
            signal_data_collection: inc_bad_signals
          """))
    try worker.start()
    try waitForStreaming(worker, "inc-bad")
    for (body, reason) in [
      ("not json", "not a JSON object"),
      (#"{"type":"execute-snapshot"}"#, "\"id\""),
      (#"{"id":"x","type":"execute-snapshot","data":{}}"#, "data-collections"),
      (
        #"{"id":"x","type":"execute-snapshot","data":{"data-collections":["a.b"],"type":"parallel"}}"#,
        "\"incremental\" or \"blocking\""
      ),
      (
        #"{"id":"x","type":"execute-snapshot","data":{"data-collections":["public\\.(inc"]}}"#,
        "not a valid regular expression"
      ),
      (#"{"id":"x","type":"snapshot-please","data":{}}"#, "not one Sluice acts on"),
      (#"{"id":"x","type":"execute-snapshot","data":[1]}"#, "\"data\""),
      (#"{"id":"x","type":"execute-snapshot","extra":1}"#, "unknown field"),
    ] {
      let (status, answer) = try worker.post("/connectors/inc-bad/signals", json: body)
      let text =
        (try? JSONSerialization.jsonObject(with: answer) as? [String: Any])?["message"] as? String
        ?? String(decoding: answer, as: UTF8.self)
      XCTAssertEqual(status, 400, "\(body): \(text)")
      XCTAssertTrue(text.contains(reason), "\(body): \(text)")
    }
    XCTAssertEqual(
      try worker.post(
        "/connectors/nobody/signals", json: #"{"id":"x","type":"pause-snapshot"}"#
      ).status, 404)

    // A table that cannot be read: a warning; the task and its streaming go on.
    let (status, _) = try worker.post(
      "/connectors/inc-bad/signals",
      json:
        #"{"id":"ghost","type":"execute-snapshot","data":{"data-collections":["public.no_such_table"]}}"#
    )
    XCTAssertEqual(status, 202)
    try waitUntil("the warning", timeout: 30) {
      self.warning(worker, "inc-bad").contains("no_such_table")
    }
    XCTAssertTrue(warning(worker, "inc-bad").contains("does not exist"), warning(worker, "inc-bad"))
    try cdcPSQL(
      url,
      #"INSERT INTO inc_bad_signals VALUES ('junk', 'execute-snapshot', '{"data-collections": 5}')"#
    )
    try waitUntil("the signal table's bad signal", timeout: 30) {
      self.warning(worker, "inc-bad").contains("a signal was ignored")
    }
    try cdcPSQL(url, "INSERT INTO inc_bad VALUES (1000, 0)")
    try waitUntil("streaming goes on", timeout: 30) {
      ((try? worker.records("bad.inc_bad")) ?? []).contains {
        (($0["value"] as? [String: Any])?["after"] as? [String: Any])?["id"] as? Int == 1000
      }
    }
    XCTAssertEqual(taskStatus(worker, "inc-bad")?["state"] as? String, "RUNNING")

    XCTAssertEqual(try worker.send("PUT", "/connectors/inc-bad/stop").status, 204)
    let (stoppedStatus, stoppedBody) = try worker.post(
      "/connectors/inc-bad/signals", json: #"{"id":"x","type":"pause-snapshot"}"#)
    XCTAssertEqual(stoppedStatus, 409, String(decoding: stoppedBody, as: UTF8.self))
    XCTAssertNotNil(worker.terminate())
  }
}

// MARK: - Support

/// What the tests of snapshots on signal share.
extension CDCWorkerTestCase {
  func warning(_ worker: WorkerProcess, _ name: String) -> String {
    let warnings = taskStatus(worker, name)?["warnings"] as? [[String: Any]] ?? []
    return warnings.compactMap { $0["message"] as? String }.joined(separator: "; ")
  }

  /// A table `(id int PRIMARY KEY, v bigint)` of `rows` rows, and a signal table.
  func prepare(_ table: String, rows: Int, signalTable: String? = nil) throws {
    var sql = """
      DROP TABLE IF EXISTS \(table);
      CREATE TABLE \(table) (id int PRIMARY KEY, v bigint NOT NULL);
      INSERT INTO \(table) SELECT g, 0 FROM generate_series(1, \(rows)) g;
      """
    if let signalTable {
      sql += """
        DROP TABLE IF EXISTS \(signalTable);
        CREATE TABLE \(signalTable) (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data text);
        """
    }
    try cdcPSQL(url, sql)
  }

  /// Waits until the topic, replayed, holds the table's rows; returns the replay.
  func waitForTopicToEqualTable(
    _ worker: WorkerProcess, _ topic: String, table: String, slot: String
  ) throws
    -> TopicReplay
  {
    let expected = try tableRows(table)
    // Everything in the WAL up to a marker written now is durable in the topic once the
    // slot has confirmed past it: one read of the topic then suffices.
    let marker = try cdcPSQL(url, "SELECT pg_logical_emit_message(true, 'test-marker', 'x')")
    try waitUntil("the slot past the marker", timeout: 90) {
      try cdcPSQL(
        url,
        "SELECT bool_and(confirmed_flush_lsn >= '\(marker)') FROM pg_replication_slots WHERE slot_name = '\(slot)'"
      ) == "t"
    }
    var replay = TopicReplay(records: [])
    try waitUntil("the topic to equal the table", timeout: 60) {
      replay = TopicReplay(records: try worker.records(topic))
      return replay.state == expected
    }
    if replay.state != expected {
      let missing = expected.filter { replay.state[$0.key] != $0.value }.prefix(5)
      let extra = replay.state.filter { expected[$0.key] == nil }.prefix(5)
      XCTFail(
        "differs from the table: e.g. \(Array(missing)) missing/different, \(Array(extra)) extra")
    }
    return replay
  }

  func tableRows(_ table: String) throws -> [Int: Int] {
    var rows: [Int: Int] = [:]
    for line in try cdcPSQL(url, "SELECT id, v FROM \(table)").split(separator: "\n") {
      let parts = line.split(separator: "|")
      if parts.count == 2, let id = Int(parts[0]), let v = Int(parts[1]) { rows[id] = v }
    }
    return rows
  }
}

/// A topic replayed in order, per partition: the rows it leaves, and what it shows wrongly.
struct TopicReplay {
  var state: [Int: Int] = [:]
  /// Keys whose read is older than a change before it, or comes after their delete.
  var violations: [String] = []
  var reads = 0
  var duplicateReads = 0
  var events = 0
  var sawIncrementalSource = false

  init(records: [[String: Any]]) {
    var last: [Int: Int] = [:]
    var deleted: Set<Int> = []
    var read: Set<Int> = []
    for record in records {
      guard let key = record["key"] as? [String: Any], let id = key["id"] as? Int,
        let value = record["value"] as? [String: Any]
      else { continue }
      // The envelope, or a flat row with `__op` (unwrap, deletes rewritten).
      let flat = value["__op"] != nil
      guard let op = (flat ? value["__op"] : value["op"]) as? String else { continue }
      events += 1
      let v = (flat ? value["v"] : (value["after"] as? [String: Any])?["v"]) as? Int
      switch op {
      case "r":
        reads += 1
        if !read.insert(id).inserted { duplicateReads += 1 }
        if flat || (value["source"] as? [String: Any])?["snapshot"] as? String == "incremental" {
          sawIncrementalSource = true
        }
        if deleted.contains(id), violations.count < 10 {
          violations.append("\(id): read after its delete")
        }
        if let v, let previous = last[id], v < previous, violations.count < 10 {
          violations.append("\(id): read of v=\(v) after v=\(previous)")
        }
        if let v, !deleted.contains(id) {
          state[id] = v
          last[id] = v
        }
      case "c", "u":
        if let v {
          state[id] = v
          last[id] = v
        }
      case "d":
        state[id] = nil
        deleted.insert(id)
      default: break
      }
    }
  }
}

/// Random updates (`v = v + 1`), deletes and inserts of new keys, one transaction each, in a
/// PL/pgSQL loop run by psql on a thread of its own.
final class Workload: @unchecked Sendable {
  private let lock = NSLock()
  private var done = false
  private var error: (any Error)?

  var finished: Bool { lock.withLock { done } }
  var failure: (any Error)? { lock.withLock { error } }

  /// Runs `iterations` transactions, or for `seconds` at most.
  init(url: String, table: String, rows: Int, iterations: Int, seconds: Int = 60) {
    let sql = """
      DO $$
      DECLARE next int := \(rows) + 1;
      DECLARE k int;
      DECLARE deadline timestamptz := clock_timestamp() + interval '\(seconds) seconds';
      BEGIN
        FOR i IN 1..\(iterations) LOOP
          EXIT WHEN clock_timestamp() > deadline;
          k := 1 + floor(random() * \(rows))::int;
          UPDATE \(table) SET v = v + 1 WHERE id = k;
          IF i % 5 = 0 THEN
            k := 1 + floor(random() * \(rows))::int;
            DELETE FROM \(table) WHERE id = k;
          END IF;
          IF i % 7 = 0 THEN
            INSERT INTO \(table) VALUES (next, 0);
            next := next + 1;
          END IF;
          COMMIT;
          PERFORM pg_sleep(0.002);
        END LOOP;
      END $$;
      """
    let thread = Thread { [self] in
      do {
        try cdcPSQL(url, sql)
      } catch {
        lock.withLock { self.error = error }
      }
      lock.withLock { done = true }
    }
    thread.start()
  }
}
