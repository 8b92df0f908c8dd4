import Foundation
import SluiceTestBrokers
import XCTest

/// The PostgreSQL CDC source inside a real worker process against the PostgreSQL of
/// `make test` (wal_level=logical): every event kind and type field by field, setup refusals,
/// heartbeats, and exactly-once under SIGKILL and cut replication connections.
///
/// Each test uses its own tables, slot and publication (other suites share the server) and
/// drops its slot at the end, since an abandoned slot pins WAL.
final class PostgresCDCWorkerTests: CDCWorkerTestCase {
  // MARK: - Events and types

  func testEveryEventKindAndTypeIsTheExpectedDebeziumJSON() throws {
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS cdc_types, cdc_full, cdc_toast, cdc_events_end;
      CREATE TABLE cdc_types (id int PRIMARY KEY, i2 smallint, i8 bigint, num numeric(20,6),
        f4 real, f8 double precision, b bool, t text, vc varchar(10), j json, jb jsonb, u uuid,
        by bytea, d date, tm time, ts timestamp, tstz timestamptz, ia int[], ta text[], gone text);
      CREATE TABLE cdc_full (id int PRIMARY KEY, big text, n int);
      ALTER TABLE cdc_full REPLICA IDENTITY FULL;
      CREATE TABLE cdc_toast (id int PRIMARY KEY, big text, n int);
      CREATE TABLE cdc_events_end (id int PRIMARY KEY);
      """)
    slotsToDrop.append("cdc_events")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-events",
      connectorYAML(
        "cdc-events", tables: "[cdc_types, public.cdc_full, public.cdc_toast, cdc_events_end]",
        topic: "ev.{schema}.{table}"))
    try worker.start()
    try waitForStreaming(worker, "cdc-events")

    // 6,400 characters of md5 text: stored out of line (TOAST), so an update that does not
    // touch it leaves it out of the new row.
    let big = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200) g)"
    let bigValue = try cdcPSQL(url, "SELECT \(big)")
    try cdcPSQL(
      url,
      """
      INSERT INTO cdc_types VALUES (1, -32768, 9223372036854775807, 12345678901234.123456, 1.5,
        -2.25e-10, true, 'héllo "q"\\', 'short', '{"a": [1, 2]}', '{"b": {"c": null}}',
        'a1b2c3d4-0000-4000-8000-000000000001', '\\x00ff10', '2026-11-25', '13:45:01.5',
        '2026-11-25 10:00:00.123456', '2026-11-25 10:00:00+02', '{1,NULL,3}', '{"a b",c}', NULL);
      UPDATE cdc_types SET t = 'changed' WHERE id = 1;
      DELETE FROM cdc_types WHERE id = 1;
      INSERT INTO cdc_full VALUES (1, \(big), 1);
      UPDATE cdc_full SET n = 2 WHERE id = 1;
      DELETE FROM cdc_full WHERE id = 1;
      INSERT INTO cdc_toast VALUES (1, \(big), 1);
      UPDATE cdc_toast SET n = 2 WHERE id = 1;
      UPDATE cdc_toast SET id = 5 WHERE id = 1;
      ALTER TABLE cdc_types ADD COLUMN extra int;
      INSERT INTO cdc_types (id, extra) VALUES (2, 7);
      ALTER TABLE cdc_types DROP COLUMN gone;
      INSERT INTO cdc_types (id) VALUES (3);
      BEGIN; INSERT INTO cdc_types (id) VALUES (99); ROLLBACK;
      TRUNCATE cdc_types;
      """)

    try waitUntil("all type events", timeout: 30) {
      ((try? worker.records("ev.public.cdc_types")) ?? []).count >= 7
    }
    try waitUntil("all toast events", timeout: 30) {
      ((try? worker.records("ev.public.cdc_toast")) ?? []).count >= 5
    }
    // Anything extra (a rolled-back insert, a repeat) would be in before the sentinel.
    try passCDCSentinel(
      worker, url: url, table: "cdc_events_end", topic: "ev.public.cdc_events_end")
    let types = try worker.records("ev.public.cdc_types")
    let full = try worker.records("ev.public.cdc_full")
    let toast = try worker.records("ev.public.cdc_toast")

    // Debezium's defaults: numeric(20,6) as base64 of its unscaled value, json as a string,
    // date as days, time and timestamp (precision 6) as microseconds, timestamptz in UTC.
    let row1: [String: Any] = [
      "id": 1, "i2": -32768, "i8": 9_223_372_036_854_775_807, "num": "AKtUqYzrGELA",
      "f4": 1.5, "f8": -2.25e-10, "b": true, "t": "héllo \"q\"\\", "vc": "short",
      "j": #"{"a": [1, 2]}"#, "jb": #"{"b": {"c": null}}"#,
      "u": "a1b2c3d4-0000-4000-8000-000000000001", "by": "AP8Q", "d": 20782,
      "tm": 49_501_500_000, "ts": 1_795_600_800_123_456, "tstz": "2026-11-25T08:00:00.000000Z",
      "ia": [1, NSNull(), 3], "ta": ["a b", "c"], "gone": NSNull(),
    ]
    var row1Changed = row1
    row1Changed["t"] = "changed"
    let nulls: (Int, [String]) -> [String: Any] = { id, columns in
      var row: [String: Any] = ["id": id]
      for c in columns { row[c] = NSNull() }
      return row
    }
    let columns = [
      "i2", "i8", "num", "f4", "f8", "b", "t", "vc", "j", "jb", "u", "by", "d", "tm",
      "ts", "tstz", "ia", "ta",
    ]
    var row2 = nulls(2, columns + ["gone"])
    row2["extra"] = 7
    var row3 = nulls(3, columns)
    row3["extra"] = NSNull()

    let expectedTypes: [(key: [String: Any]?, op: String?, before: Any, after: Any)] = [
      (["id": 1], "c", NSNull(), row1),
      (["id": 1], "u", NSNull(), row1Changed),
      // Debezium 3.x: every column in before, null outside the replica identity.
      (["id": 1], "d", nulls(1, columns + ["gone"]), NSNull()),
      (["id": 1], nil, NSNull(), NSNull()),  // tombstone
      (["id": 2], "c", NSNull(), row2),
      (["id": 3], "c", NSNull(), row3),
      (nil, "t", NSNull(), NSNull()),
    ]
    try compare(types, expectedTypes, table: "cdc_types")

    let fullRow1: [String: Any] = ["id": 1, "big": bigValue, "n": 1]
    var fullRow2 = fullRow1
    fullRow2["n"] = 2
    try compare(
      full,
      [
        (["id": 1], "c", NSNull(), fullRow1),
        // REPLICA IDENTITY FULL: the old row, and the unchanged TOAST value filled from it.
        (["id": 1], "u", fullRow1, fullRow2),
        (["id": 1], "d", fullRow2, NSNull()),
        (["id": 1], nil, NSNull(), NSNull()),
      ], table: "cdc_full")

    try compare(
      toast,
      [
        (["id": 1], "c", NSNull(), ["id": 1, "big": bigValue, "n": 1]),
        (["id": 1], "u", NSNull(), ["id": 1, "big": "__debezium_unavailable_value", "n": 2]),
        // A changed key: a delete of the old key, its tombstone, a create of the new one.
        (["id": 1], "d", ["id": 1, "big": NSNull(), "n": NSNull()], NSNull()),
        (["id": 1], nil, NSNull(), NSNull()),
        (["id": 5], "c", NSNull(), ["id": 5, "big": "__debezium_unavailable_value", "n": 2]),
      ], table: "cdc_toast")
    XCTAssertNotNil(worker.terminate())
  }

  /// Compares records with the expected key, op, before and after, and the source block.
  func compare(
    _ records: [[String: Any]],
    _ expected: [(key: [String: Any]?, op: String?, before: Any, after: Any)],
    table: String, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    XCTAssertEqual(
      records.count, expected.count, "\(table) records: \(records)", file: file, line: line)
    var lastLSN = 0
    for (record, want) in zip(records, expected) {
      if let key = want.key {
        XCTAssertEqual(canonicalJSON(record["key"]), canonicalJSON(key), file: file, line: line)
      } else {
        XCTAssertTrue(
          record["key"] == nil || record["key"] is NSNull, "\(record)", file: file, line: line)
      }
      guard let op = want.op else {
        XCTAssertTrue(record["value"] is NSNull, "tombstone: \(record)", file: file, line: line)
        continue
      }
      let value = try XCTUnwrap(
        record["value"] as? [String: Any], "\(record)", file: file, line: line)
      XCTAssertEqual(value["op"] as? String, op, file: file, line: line)
      XCTAssertEqual(
        canonicalJSON(value["before"]), canonicalJSON(want.before), "before of \(op)", file: file,
        line: line)
      XCTAssertEqual(
        canonicalJSON(value["after"]), canonicalJSON(want.after), "after of \(op)", file: file,
        line: line)
      XCTAssertNotNil(value["ts_ms"] as? Int, file: file, line: line)
      let source = try XCTUnwrap(value["source"] as? [String: Any], file: file, line: line)
      XCTAssertEqual(source["connector"] as? String, "postgresql", file: file, line: line)
      XCTAssertEqual(source["db"] as? String, "sluice_test", file: file, line: line)
      XCTAssertEqual(source["schema"] as? String, "public", file: file, line: line)
      XCTAssertEqual(source["table"] as? String, table, file: file, line: line)
      XCTAssertEqual(source["snapshot"] as? String, "false", file: file, line: line)
      XCTAssertNotNil(source["txId"] as? Int, file: file, line: line)
      let ts = try XCTUnwrap(source["ts_ms"] as? Int, file: file, line: line)
      XCTAssertLessThan(abs(ts - Int(Date().timeIntervalSince1970 * 1000)), 120_000, "commit time")
      let lsn = try XCTUnwrap(source["lsn"] as? Int, file: file, line: line)
      XCTAssertGreaterThanOrEqual(
        lsn, lastLSN, "LSNs grow (a key change is two events of one change)", file: file, line: line
      )
      lastLSN = lsn
      // Debezium's sequence: ["<last commit LSN>","<this LSN>"] as a string; xmin null.
      let sequence = try XCTUnwrap(source["sequence"] as? String, file: file, line: line)
      let pair = try JSONSerialization.jsonObject(with: Data(sequence.utf8)) as? [Any]
      XCTAssertEqual(pair?.count, 2, sequence, file: file, line: line)
      XCTAssertEqual(pair?.last as? String, String(lsn), sequence, file: file, line: line)
      XCTAssertTrue(source["xmin"] is NSNull, file: file, line: line)
      XCTAssertEqual(source["ts_us"] as? Int, ts * 1000 + (source["ts_us"] as? Int ?? 0) % 1000)
    }
  }

  // MARK: - Setup

  func testATableWithoutPrimaryKeyOrReplicaIdentityIsRefusedWithTheFix() throws {
    try cdcPSQL(url, "DROP TABLE IF EXISTS cdc_nokey; CREATE TABLE cdc_nokey (a int)")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-nokey", connectorYAML("cdc-nokey", tables: "[public.cdc_nokey]", topic: "nk.{table}"))
    try worker.start()
    try waitUntil("the task failed", timeout: 30) {
      self.taskStatus(worker, "cdc-nokey")?["state"] as? String == "FAILED"
    }
    let trace = taskStatus(worker, "cdc-nokey")?["trace"] as? String ?? ""
    XCTAssertTrue(trace.contains("table public.cdc_nokey has no primary key"), trace)
    XCTAssertTrue(trace.contains(#"ALTER TABLE "public"."cdc_nokey" REPLICA IDENTITY FULL"#), trace)
    XCTAssertEqual(
      try cdcPSQL(url, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_nokey'"),
      "0",
      "no slot is created for a refused table")
    XCTAssertNotNil(worker.terminate())
  }

  func testARoleThatMayNotReplicateIsRefusedWithTheFix() throws {
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS cdc_norepl; CREATE TABLE cdc_norepl (id int PRIMARY KEY);
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdc_plain') THEN
          CREATE ROLE cdc_plain LOGIN PASSWORD 'plain';
        END IF;
      END $$;
      """)
    let plainURL = url.replacingOccurrences(of: "sluice:sluice@", with: "cdc_plain:plain@")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-plain",
      """
      name: cdc-plain
      source: postgres-cdc
      topic: "plain.{table}"
      config: { url: "\(plainURL)", tables: [cdc_norepl], slot: cdc_plain }
      """)
    try worker.start()
    try waitUntil("the task failed", timeout: 30) {
      self.taskStatus(worker, "cdc-plain")?["state"] as? String == "FAILED"
    }
    let trace = taskStatus(worker, "cdc-plain")?["trace"] as? String ?? ""
    XCTAssertTrue(
      trace.contains(
        #"role 'cdc_plain' may not replicate; run ALTER ROLE "cdc_plain" WITH REPLICATION;"#),
      trace)
    XCTAssertNotNil(worker.terminate())
  }

  func testKeepalivesThatAskForAReplyAreAnsweredSoTheServerKeepsTheStream() throws {
    try cdcPSQL(url, "DROP TABLE IF EXISTS cdc_quiet; CREATE TABLE cdc_quiet (id int PRIMARY KEY)")
    slotsToDrop.append("cdc_quiet")
    // With a 2 s timeout the walsender asks for a reply after 1 s of silence and drops the
    // connection after 2 s without one; heartbeats (which also bring replies) are off here.
    try cdcPSQL(url, "ALTER SYSTEM SET wal_sender_timeout = '2s'; SELECT pg_reload_conf()")
    defer {
      _ = try? cdcPSQL(url, "ALTER SYSTEM RESET wal_sender_timeout; SELECT pg_reload_conf()")
    }
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-quiet",
      connectorYAML(
        "cdc-quiet", tables: "[cdc_quiet]", topic: "quiet.{table}", extra: "  heartbeat_ms: 600000")
    )
    try worker.start()
    try waitForStreaming(worker, "cdc-quiet")
    let pid = try cdcPSQL(
      url, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'cdc_quiet'")
    XCTAssertFalse(pid.isEmpty)
    try waitForStandbyReply(walsender: pid, after: 4)
    XCTAssertEqual(
      try cdcPSQL(url, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'cdc_quiet'"),
      pid, "the same walsender is still streaming")
    XCTAssertFalse(worker.log().contains("replication interrupted"), worker.log())
    XCTAssertNotNil(worker.terminate())
  }

  func testHeartbeatsAdvanceAnIdleSlotAndStatusShowsLagAndDropSlotOnDelete() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_idle, cdc_busy; CREATE TABLE cdc_idle (id int PRIMARY KEY); CREATE TABLE cdc_busy (id int)"
    )
    slotsToDrop.append("cdc_idle")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-idle",
      connectorYAML(
        "cdc-idle", tables: "[public.cdc_idle]", topic: "idle.{table}",
        extra: "  heartbeat_ms: 200\n  drop_slot_on_delete: true"))
    try worker.start()
    try waitForStreaming(worker, "cdc-idle")
    // WAL from a table the slot does not capture.
    try cdcPSQL(url, "INSERT INTO cdc_busy SELECT generate_series(1, 20000)")
    let busyEnd = try cdcPSQL(url, "SELECT pg_current_wal_lsn()")
    try waitUntil("the idle slot confirmed past the other table's WAL", timeout: 30) {
      try cdcPSQL(
        self.url,
        "SELECT confirmed_flush_lsn >= '\(busyEnd)' FROM pg_replication_slots WHERE slot_name = 'cdc_idle'"
      ) == "t"
    }
    try waitUntil("status shows the confirmed LSN and lag", timeout: 10) {
      self.detail(worker, "cdc-idle", "confirmed_lsn") != nil
        && Int(self.detail(worker, "cdc-idle", "lag_bytes") ?? "") != nil
    }
    XCTAssertEqual(detail(worker, "cdc-idle", "slot"), "cdc_idle")
    XCTAssertEqual(try worker.records("idle.cdc_idle").count, 0, "heartbeats write no records")

    try worker.removeConnector("cdc-idle")
    try waitUntil("the slot is dropped with the connector", timeout: 30) {
      try cdcPSQL(
        self.url, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_idle'")
        == "0"
    }
    XCTAssertNotNil(worker.terminate())
  }

  func testAllTablesCapturesTablesCreatedWhileStreamingInADatabaseOfItsOwn() throws {
    // FOR ALL TABLES would make other suites' tables without keys refuse updates, so this
    // test has a database to itself.
    if try cdcPSQL(url, "SELECT 1 FROM pg_database WHERE datname = 'sluice_cdc_all'").isEmpty {
      try cdcPSQL(url, "CREATE DATABASE sluice_cdc_all")
    }
    let allURL = String(url[..<url.lastIndex(of: "/")!]) + "/sluice_cdc_all"
    try cdcPSQL(
      allURL,
      """
      DROP PUBLICATION IF EXISTS cdc_all; DROP TABLE IF EXISTS first_t, later_t;
      CREATE TABLE first_t (id int PRIMARY KEY, v text);
      """)
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-all",
      """
      name: cdc-all
      source: postgres-cdc
      topic: "all.{db}.{table}"
      config: { url: "\(allURL)", tables: "*", slot: cdc_all, publication: cdc_all }
      """)
    defer {
      _ = worker.terminate()
      for _ in 0..<50 {
        if (try? cdcPSQL(
          allURL,
          "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE slot_name = 'cdc_all' AND NOT active"
        )) == "1" {
          break
        }
        Thread.sleep(forTimeInterval: 0.2)
      }
    }
    try worker.start()
    try waitForStreaming(worker, "cdc-all")
    XCTAssertEqual(
      try cdcPSQL(allURL, "SELECT puballtables FROM pg_publication WHERE pubname = 'cdc_all'"), "t")
    try cdcPSQL(
      allURL,
      """
      INSERT INTO first_t VALUES (1, 'one');
      CREATE TABLE later_t (id int PRIMARY KEY, v text);
      INSERT INTO later_t VALUES (2, 'two');
      """)
    try waitUntil("events of both tables", timeout: 30) {
      ((try? worker.records("all.sluice_cdc_all.first_t")) ?? []).count == 1
        && ((try? worker.records("all.sluice_cdc_all.later_t")) ?? []).count == 1
    }
    let later = try XCTUnwrap(worker.records("all.sluice_cdc_all.later_t").first)
    let value = try XCTUnwrap(later["value"] as? [String: Any])
    XCTAssertEqual(canonicalJSON(value["after"]), canonicalJSON(["id": 2, "v": "two"]))
    XCTAssertEqual((value["source"] as? [String: Any])?["db"] as? String, "sluice_cdc_all")
  }

  // MARK: - Exactly once

  func testEveryCommittedChangeOnceInOrderAcrossRepeatedSIGKILL() throws {
    try everyCommittedChangeOnceInOrderAcrossRepeatedSIGKILL(slot: "cdc_crash", cluster: nil)
  }

  /// The same with the topics on a Kafka cluster (`store: kafka`, Sluice's own listener on a
  /// second worker): each send's changes and the slot position go in one Kafka transaction, the
  /// slot is confirmed only after the commit, and the topics are read with read_committed.
  func testEveryCommittedChangeOnceInOrderAcrossRepeatedSIGKILLOnKafka() throws {
    let cluster = try BrokerProcess(.sluice)
    try cluster.start()
    defer { cluster.stop() }
    try everyCommittedChangeOnceInOrderAcrossRepeatedSIGKILL(
      slot: "cdc_crash_kafka", cluster: cluster)
  }

  /// With a `replay_window` the slot confirms a window behind the durable point, so every
  /// restart streams the whole window again; what the topics hold must still be dropped.
  func testEveryCommittedChangeOnceInOrderAcrossRepeatedSIGKILLWithAReplayWindow() throws {
    try everyCommittedChangeOnceInOrderAcrossRepeatedSIGKILL(
      slot: "cdc_crash_window", cluster: nil, extra: "  replay_window: 4MiB")
  }

  private func everyCommittedChangeOnceInOrderAcrossRepeatedSIGKILL(
    slot: String, cluster: BrokerProcess?, extra: String = ""
  ) throws {
    let workload = CDCWorkload(prefix: slot, transactions: 5200, seed: 1)
    let worker = try WorkerProcess(
      workerYAMLExtra: cluster.map {
        "store: { kind: kafka, bootstrap: [\($0.address)], default_partitions: 3 }"
      } ?? "")
    try workload.prepare(url)
    slotsToDrop.append(slot)
    try worker.useThreePartitions()
    let name = slot.replacingOccurrences(of: "_", with: "-")
    try worker.writeConnector(
      name, connectorYAML(name, tables: workload.tableList, topic: "crash.{table}", extra: extra))
    try worker.start()
    try waitForStreaming(worker, name)
    let runner = workload.run(url)

    // Pauses short enough that five or more kills land while the workload runs, also on
    // Kafka, where a restart takes longer (one run had four).
    let crashes = try CrashLoop(atLeast: 6, pauses: 0.1...0.8, startTimeout: 60)
      .run(worker, while: { !runner.finished }, busy: { !runner.finished })
    let kills = crashes.kills
    XCTAssertNil(runner.failure)
    XCTAssertGreaterThanOrEqual(crashes.whileBusy, 5, "kills while changes were being made")
    XCTAssertGreaterThanOrEqual(workload.changeCount, 50_000)
    try workload.verify(
      worker, topicPrefix: "crash.", context: "after \(kills) kills", cluster: cluster)
    let replays = worker.log().components(separatedBy: "skipped changes already durable").count - 1
    print(
      "CDC crash test: \(kills) kills, \(crashes.whileBusy) while loading, \(replays) replays with changes already durable skipped"
    )
    XCTAssertNotNil(worker.terminate())
  }

  func testNothingLostOrRepeatedWhenTheReplicationConnectionIsCut() throws {
    let workload = CDCWorkload(prefix: "cdc_cut", transactions: 1500, seed: 2)
    let worker = try WorkerProcess()
    try workload.prepare(url)
    slotsToDrop.append("cdc_cut")
    try worker.writeConnector(
      "cdc-cut", connectorYAML("cdc-cut", tables: workload.tableList, topic: "cut.{table}"))
    try worker.start()
    try waitForStreaming(worker, "cdc-cut")
    let runner = workload.run(url)
    var cuts = 0
    while !runner.finished || cuts < 4 {
      Thread.sleep(forTimeInterval: 0.5)
      let killed = try cdcPSQL(
        url,
        "SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots WHERE slot_name = 'cdc_cut' AND active_pid IS NOT NULL"
      )
      if killed == "1" { cuts += 1 }
    }
    XCTAssertNil(runner.failure)
    XCTAssertGreaterThanOrEqual(cuts, 4)
    try workload.verify(worker, topicPrefix: "cut.", context: "after \(cuts) cut connections")
    try waitUntil("streaming again", timeout: 30) {
      self.detail(worker, "cdc-cut", "state") == "streaming"
    }
    XCTAssertEqual(taskStatus(worker, "cdc-cut")?["state"] as? String, "RUNNING")
    XCTAssertNotNil(worker.terminate())
  }

  /// Runs pg_ctl on the test server as user postgres (`stop -m fast`, `start`, `restart`).
  func pgCtl(_ arguments: [String]) throws {
    let data = try XCTUnwrap(
      ProcessInfo.processInfo.environment["SLUICE_TEST_PG_DATA"],
      "make test sets SLUICE_TEST_PG_DATA")
    let pgCtl = try XCTUnwrap(
      try FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql").sorted().last
        .map { "/usr/lib/postgresql/\($0)/bin/pg_ctl" })
    // The new postmaster must not inherit this process's descriptors (Foundation's Process
    // waits until every holder of its child's descriptors exits, and swift test reads stderr
    // to the end): the shell closes them all before pg_ctl starts the server.
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments =
      [
        "-c",
        #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null; exec runuser -u postgres -- "$@" >/dev/null 2>&1 </dev/null"#,
        "pg_ctl", pgCtl, "-D", data, "-w", "-l", data + "/../pg-log/postgres.log",
      ] + arguments
    try process.run()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, "pg_ctl \(arguments)")
  }

  func testALongOutageShowsInHealthAndStreamingResumesWithoutLossOrRepeats() throws {
    let workload = CDCWorkload(prefix: "cdc_outage", transactions: 1000, seed: 4)
    let worker = try WorkerProcess()
    try workload.prepare(url)
    slotsToDrop.append("cdc_outage")
    try worker.writeConnector(
      "cdc-outage",
      connectorYAML("cdc-outage", tables: workload.tableList, topic: "outage.{table}"))
    try worker.start()
    try waitForStreaming(worker, "cdc-outage")
    let half = workload.chunks.count / 2
    let first = workload.run(url, chunks: 0..<half)
    try waitUntil("the first half committed", timeout: 120) { first.finished }
    XCTAssertNil(first.failure)
    XCTAssertEqual(try worker.get("/health").status, 200)
    try pgCtl(["-m", "fast", "stop"])
    do {
      // Retried quietly at first, then FAILED where /health shows it.
      try waitUntil("the task reconnecting", timeout: 10) {
        self.detail(worker, "cdc-outage", "state")?.hasPrefix("reconnecting") == true
      }
      XCTAssertEqual(try worker.get("/health").status, 200, "a blip is not an outage")
      try waitUntil("/health reports the stopped replication", timeout: 40) {
        let (status, body) = try worker.get("/health")
        return status == 503 && String(decoding: body, as: UTF8.self).contains("cdc-outage")
      }
      XCTAssertEqual(taskStatus(worker, "cdc-outage")?["state"] as? String, "FAILED")
    } catch {
      try pgCtl(["start"])
      throw error
    }
    try pgCtl(["start"])
    let second = workload.run(url, chunks: half..<workload.chunks.count)
    try waitUntil("the second half committed", timeout: 120) { second.finished }
    XCTAssertNil(second.failure)
    try workload.verify(worker, topicPrefix: "outage.", context: "after a long outage")
    try waitUntil("healthy again", timeout: 90) { try worker.get("/health").status == 200 }
    XCTAssertNotNil(worker.terminate())
  }

  func testNothingLostOrRepeatedWhenPostgreSQLRestartsMidStream() throws {
    let workload = CDCWorkload(prefix: "cdc_restart", transactions: 1600, seed: 3)
    let worker = try WorkerProcess()
    try workload.prepare(url)
    slotsToDrop.append("cdc_restart")
    try worker.writeConnector(
      "cdc-restart",
      connectorYAML("cdc-restart", tables: workload.tableList, topic: "restart.{table}"))
    try worker.start()
    try waitForStreaming(worker, "cdc-restart")
    let half = workload.chunks.count / 2
    let first = workload.run(url, chunks: 0..<half)
    try waitUntil("the first half committed", timeout: 120) { first.finished }
    XCTAssertNil(first.failure)
    // The connector is still streaming the first half when the server goes away.
    try pgCtl(["-m", "fast", "restart"])
    let second = workload.run(url, chunks: half..<workload.chunks.count)
    try waitUntil("the second half committed", timeout: 120) { second.finished }
    XCTAssertNil(second.failure)
    try workload.verify(worker, topicPrefix: "restart.", context: "after a server restart")
    XCTAssertTrue(worker.log().contains("replication interrupted"), "the restart was noticed")
    try waitUntil("streaming again", timeout: 60) {
      self.detail(worker, "cdc-restart", "state") == "streaming"
    }
    XCTAssertNotNil(worker.terminate())
  }

  /// End to end on Tansu as the cluster: a random workload's changes reach the topics once, in
  /// order, as librdkafka reads them read_committed (the crash tests use Sluice's listener as
  /// the cluster: Tansu 0.6 does not abort a fenced producer's transaction).
  func testChangesReachATansuClusterOnceInOrder() throws {
    let cluster = try BrokerProcess(.tansu)
    try cluster.start()
    defer { cluster.stop() }
    let workload = CDCWorkload(prefix: "cdc_tansu", transactions: 300, seed: 5)
    let worker = try WorkerProcess(
      workerYAMLExtra:
        "store: { kind: kafka, bootstrap: [\(cluster.address)], default_partitions: 3 }")
    try workload.prepare(url)
    slotsToDrop.append("cdc_tansu")
    try worker.writeConnector(
      "cdc-tansu", connectorYAML("cdc-tansu", tables: workload.tableList, topic: "tansu.{table}"))
    try worker.start(timeout: 60)
    try waitForStreaming(worker, "cdc-tansu")
    let runner = workload.run(url)
    try waitUntil("the workload committed", timeout: 120) { runner.finished }
    XCTAssertNil(runner.failure)
    try workload.verify(worker, topicPrefix: "tansu.", context: "on Tansu", cluster: cluster)
    XCTAssertNotNil(worker.terminate())
  }

  /// `store: kafka` and the cluster (Sluice's own listener, whose log survives a restart;
  /// Tansu's memory storage would not) is SIGKILLed and restarted three times while changes
  /// stream: the worker keeps running, its open transactions are aborted by the restarted
  /// cluster or retried by the client, and every change is in the topics once, in order, as
  /// librdkafka reads them read_committed.
  func testNothingLostOrRepeatedWhenTheKafkaClusterRestartsMidStream() throws {
    let cluster = try BrokerProcess(.sluice)
    try cluster.start()
    defer { cluster.stop() }
    let workload = CDCWorkload(prefix: "cdc_cluster_restart", transactions: 3000, seed: 4)
    let worker = try WorkerProcess(
      workerYAMLExtra:
        "store: { kind: kafka, bootstrap: [\(cluster.address)], default_partitions: 3 }")
    try workload.prepare(url)
    slotsToDrop.append("cdc_cluster_restart")
    try worker.writeConnector(
      "cdc-cluster-restart",
      connectorYAML(
        "cdc-cluster-restart", tables: workload.tableList, topic: "cluster.{table}"))
    try worker.start(timeout: 60)
    try waitForStreaming(worker, "cdc-cluster-restart")
    let runner = workload.run(url)
    var restarts = 0
    var restartsWhileLoading = 0
    while restarts < 3 {
      Thread.sleep(forTimeInterval: Double.random(in: 0.2...0.6))
      if !runner.finished { restartsWhileLoading += 1 }
      cluster.stop()
      Thread.sleep(forTimeInterval: Double.random(in: 0.3...1.0))
      try cluster.start()
      restarts += 1
    }
    try waitUntil("the workload committed", timeout: 180) { runner.finished }
    XCTAssertNil(runner.failure)
    // At least one while PostgreSQL commits changes (a fresh-clone run had exactly two); the
    // others still land mid-stream, while the worker drains what was committed.
    XCTAssertGreaterThanOrEqual(restartsWhileLoading, 1, "cluster restarts while changes were made")
    XCTAssertEqual(worker.process?.isRunning, true, "the worker rode out the restarts")
    try workload.verify(
      worker, topicPrefix: "cluster.", context: "after \(restarts) cluster restarts",
      cluster: cluster)
    XCTAssertEqual(worker.process?.isRunning, true, "the worker rode out the restarts")
    print(
      "CDC cluster-restart test: \(restarts) restarts, \(restartsWhileLoading) while loading, source task restarted \(worker.log().components(separatedBy: "source task failed").count - 1) times"
    )
    XCTAssertNotNil(worker.terminate())
  }
}

/// A random workload of inserts, updates and deletes over three tables in multi-statement
/// transactions (some of 3,000 changes, some rolled back), run by psql in order, and the change events it must
/// produce per key, in commit order.
final class CDCWorkload: @unchecked Sendable {
  let prefix: String
  let tables: [String]
  /// SQL chunks, each a run of transactions.
  private(set) var chunks: [String] = []
  /// Expected events per "topic|key": "c:v", "u:v", "d", "tomb".
  private(set) var expected: [String: [String]] = [:]
  private(set) var changeCount = 0
  private(set) var eventCount = 0

  init(prefix: String, transactions: Int, seed: UInt64) {
    self.prefix = prefix
    tables = ["\(prefix)_a", "\(prefix)_b", "\(prefix)_c"]
    var random = SeededGenerator(seed: seed)
    var present: [String: Set<Int>] = [:]
    var sql = ""
    var version = 0
    for t in 1...transactions {
      let rolledBack = t % 97 == 0
      var statements: [String] = []
      var events: [(String, String)] = []
      var presentAfter = present
      // Every thousandth transaction is large: it spans many chunks of the stream, so kills
      // land inside a transaction whose first records are already durable.
      let size = t % 1000 == 500 ? 3000 : Int.random(in: 5...15, using: &random)
      for _ in 0..<size {
        let table = tables.randomElement(using: &random)!
        let id = Int.random(in: 1...1500, using: &random)
        version += 1
        let v = rolledBack ? -version : version
        let key = "\(table)|\(id)"
        if presentAfter[table, default: []].contains(id) {
          if Int.random(in: 0..<10, using: &random) < 3 {
            statements.append("DELETE FROM \(table) WHERE id = \(id);")
            presentAfter[table]!.remove(id)
            events += [(key, "d"), (key, "tomb")]
          } else {
            statements.append("UPDATE \(table) SET v = \(v), note = 'u\(v)' WHERE id = \(id);")
            events.append((key, "u:\(v)"))
          }
        } else {
          statements.append("INSERT INTO \(table) VALUES (\(id), \(v), 'i\(v)');")
          presentAfter[table, default: []].insert(id)
          events.append((key, "c:\(v)"))
        }
      }
      sql +=
        "BEGIN;\n" + statements.joined(separator: "\n")
        + (rolledBack ? "\nROLLBACK;\n" : "\nCOMMIT;\n")
      if !rolledBack {
        present = presentAfter
        changeCount += statements.count
        for (key, event) in events {
          expected[key, default: []].append(event)
          eventCount += 1
        }
      }
      if t % 100 == 0 || t == transactions {
        chunks.append(sql)
        sql = ""
      }
    }
  }

  /// A table of the connector's that the workload leaves alone: a row committed to it after
  /// the workload is the sentinel ``verify(_:topicPrefix:context:cluster:)`` waits for.
  var sentinelTable: String { "\(prefix)_end" }

  var tableList: String {
    "[" + (tables + [sentinelTable]).map { "public.\($0)" }.joined(separator: ", ") + "]"
  }

  func prepare(_ url: String) throws {
    var sql = ""
    for table in tables {
      sql +=
        "DROP TABLE IF EXISTS \(table); CREATE TABLE \(table) (id int PRIMARY KEY, v bigint, note text);\n"
    }
    sql +=
      "DROP TABLE IF EXISTS \(sentinelTable); CREATE TABLE \(sentinelTable) (id int PRIMARY KEY);\n"
    try cdcPSQL(url, sql)
  }

  /// Runs the chunks one after another on a thread.
  final class Runner: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var error: String?
    var finished: Bool { lock.withLock { done } }
    var failure: String? { lock.withLock { error } }
    func finish(_ failure: String?) {
      lock.withLock {
        done = true
        error = failure
      }
    }

    /// Runs SQL chunks one after another with psql on a thread of their own; `spacing` apart
    /// when a test needs the load to last however fast the machine is.
    static func start(_ chunks: [String], url: String, spacing: TimeInterval = 0) -> Runner {
      let runner = Runner()
      Thread {
        do {
          for chunk in chunks {
            try cdcPSQL(url, chunk)
            if spacing > 0 { Thread.sleep(forTimeInterval: spacing) }
          }
          runner.finish(nil)
        } catch {
          runner.finish("\(error)")
        }
      }.start()
      return runner
    }
  }

  func run(_ url: String, chunks range: Range<Int>? = nil) -> Runner {
    Runner.start(Array(chunks[range ?? chunks.indices]), url: url)
  }

  /// Waits for every expected event, then checks each key's events are exactly the expected
  /// ones in order: nothing missing, nothing repeated, nothing of a rolled-back transaction.
  /// With `cluster`, the topics are then read again from the cluster by librdkafka with
  /// read_committed, and must hold the same.
  func verify(
    _ worker: WorkerProcess, topicPrefix: String, context: String, cluster: BrokerProcess? = nil
  ) throws {
    var records: [String: [[String: Any]]] = [:]
    try waitUntil("\(eventCount) events in the topics", timeout: 180) {
      for table in self.tables { records[table] = try worker.records(topicPrefix + table) }
      return records.values.map(\.count).reduce(0, +) >= self.eventCount
    }
    try passCDCSentinel(
      worker, url: TestServers.postgresURL, table: sentinelTable,
      topic: topicPrefix + sentinelTable)
    try check(context: context) { try worker.records(topicPrefix + $0) }
    if let cluster {
      try check(context: context + ", read by librdkafka read_committed") {
        try cluster.committedRecords(topicPrefix + $0)
      }
    }
  }

  /// Checks the records of each table's topic (`records(table)`, per partition in offset order)
  /// against the expected events of each key.
  private func check(context: String, records: (String) throws -> [[String: Any]]) throws {
    var actual: [String: [String]] = [:]
    for table in tables {
      let all = try records(table)
      // Per partition in offset order; a key lives in one partition.
      for record in all {
        guard let key = record["key"] as? [String: Any], let id = key["id"] as? Int else {
          XCTFail("record without key: \(record)")
          continue
        }
        let name = "\(table)|\(id)"
        guard let value = record["value"] as? [String: Any] else {
          actual[name, default: []].append("tomb")
          continue
        }
        let op = value["op"] as? String ?? "?"
        if op == "d" {
          actual[name, default: []].append("d")
        } else {
          let v = (value["after"] as? [String: Any])?["v"] as? Int ?? 0
          actual[name, default: []].append("\(op):\(v)")
        }
      }
    }
    let total = actual.values.map(\.count).reduce(0, +)
    let negative = actual.values.joined().filter { $0.contains(":-") }.count
    XCTAssertEqual(negative, 0, "events of rolled-back transactions \(context)")
    XCTAssertEqual(total, eventCount, "events \(context)")
    var wrongKeys = 0
    for (key, events) in expected where actual[key] != events {
      if wrongKeys < 5 {
        XCTFail("\(key): expected \(events), got \(actual[key] ?? []) \(context)")
      }
      wrongKeys += 1
    }
    XCTAssertEqual(wrongKeys, 0, "keys whose events differ \(context)")
    print(
      "CDC workload \(prefix): \(changeCount) changes, \(eventCount) events, \(total) in topics, \(context)"
    )
  }
}

/// A reproducible random sequence (SplitMix64), so a failing workload can be run again.
struct SeededGenerator: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension WorkerProcess {
  /// Rewrites worker.yaml with three partitions per topic, so keys spread over partitions.
  func useThreePartitions() throws {
    let file = directory.appendingPathComponent("worker.yaml")
    let yaml = try String(contentsOf: file, encoding: .utf8)
      .replacingOccurrences(of: "partitions: 1", with: "partitions: 3")
    try yaml.write(to: file, atomically: true, encoding: .utf8)
  }
}

/// JSON text with sorted keys, to compare parsed values with expected ones field by field.
func canonicalJSON(_ value: Any?) -> String {
  guard let value,
    let data = try? JSONSerialization.data(
      withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed])
  else { return "<not JSON: \(String(describing: value))>" }
  return String(decoding: data, as: UTF8.self)
}

/// Runs SQL (any number of statements, on standard input) with psql; returns its unaligned
/// output.
@discardableResult
func cdcPSQL(_ url: String, _ sql: String) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
  process.arguments = [url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-f", "-"]
  let input = Pipe()
  let out = Pipe()
  let err = Pipe()
  process.standardInput = input
  process.standardOutput = out
  process.standardError = err
  try process.run()
  let writer = Thread { [sql] in
    input.fileHandleForWriting.write(Data(sql.utf8))
    try? input.fileHandleForWriting.close()
  }
  writer.start()
  let data = out.fileHandleForReading.readDataToEndOfFile()
  let problem = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    throw WorkerError("psql failed: \(String(decoding: problem, as: UTF8.self))")
  }
  return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
