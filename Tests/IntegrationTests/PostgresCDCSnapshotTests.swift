import Foundation
import SluiceTestBrokers
import XCTest

/// The initial snapshot of the PostgreSQL CDC source in a real worker process: rows read as
/// `op: "r"` events exactly as streaming would encode them, changes made while the snapshot
/// runs appearing once, also when the worker is SIGKILLed in the middle of it, and
/// `snapshot: initial_only`.
final class PostgresCDCSnapshotTests: CDCWorkerTestCase {
  // MARK: - Events

  func testSnapshotRowsAreReadEventsEncodedAsStreamingWouldThenStreamingFollows() throws {
    let values = """
      -32768, 9223372036854775807, 12345678901234.123456, 1.5, -2.25e-10, true, 'héllo "q"\\',
      'short', '{"a": [1, 2]}', '{"b": {"c": null}}', 'a1b2c3d4-0000-4000-8000-000000000001',
      '\\x00ff10', '2026-11-25', '13:45:01.5', '2026-11-25 10:00:00.123456',
      '2026-11-25 10:00:00+02', '{1,NULL,3}', '{"a b",c}', NULL
      """
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS snap_types, snap_nokey, snap_composite, snap_end;
      CREATE TABLE snap_types (id int PRIMARY KEY, i2 smallint, i8 bigint, num numeric(20,6),
        f4 real, f8 double precision, b bool, t text, vc varchar(10), j json, jb jsonb, u uuid,
        by bytea, d date, tm time, ts timestamp, tstz timestamptz, ia int[], ta text[], n text);
      CREATE TABLE snap_nokey (a int, b text);
      ALTER TABLE snap_nokey REPLICA IDENTITY FULL;
      CREATE TABLE snap_composite (name text, n int, v int, PRIMARY KEY (name, n));
      CREATE TABLE snap_end (id int PRIMARY KEY);
      INSERT INTO snap_types VALUES (1, \(values));
      INSERT INTO snap_nokey VALUES (1, 'x'), (2, 'y');
      INSERT INTO snap_composite SELECT 'k' || (g % 7), g, g FROM generate_series(1, 5000) g;
      """)
    slotsToDrop.append("snap_events")
    let worker = try WorkerProcess()
    try worker.useThreePartitions()
    try worker.writeConnector(
      "snap-events",
      connectorYAML(
        "snap-events", tables: "[snap_types, snap_nokey, snap_composite, snap_end]",
        topic: "snap.{schema}.{table}"))
    try worker.start()
    try waitForStreaming(worker, "snap-events")
    XCTAssertTrue(
      detail(worker, "snap-events", "snapshot")?.hasPrefix("completed: 4 tables, 5003 rows")
        == true,
      "\(String(describing: detail(worker, "snap-events", "snapshot")))")
    try cdcPSQL(
      url,
      "INSERT INTO snap_types VALUES (2, \(values)); INSERT INTO snap_composite VALUES ('k1', 0, 0);"
    )
    try waitUntil("the streamed insert", timeout: 30) {
      ((try? worker.records("snap.public.snap_types")) ?? []).count >= 2
        && ((try? worker.records("snap.public.snap_composite")) ?? []).count >= 5001
    }
    try passCDCSentinel(worker, url: url, table: "snap_end", topic: "snap.public.snap_end")

    let types = try worker.records("snap.public.snap_types").compactMap {
      $0["value"] as? [String: Any]
    }
    XCTAssertEqual(types.map { $0["op"] as? String }, ["r", "c"])
    let read = try XCTUnwrap(types.first)
    let created = try XCTUnwrap(types.last)
    var readAfter = try XCTUnwrap(read["after"] as? [String: Any])
    var createdAfter = try XCTUnwrap(created["after"] as? [String: Any])
    XCTAssertEqual(readAfter["id"] as? Int, 1)
    // Debezium's defaults, the same in the snapshot as in the stream.
    XCTAssertEqual(readAfter["num"] as? String, "AKtUqYzrGELA")
    XCTAssertEqual(readAfter["by"] as? String, "AP8Q")
    XCTAssertEqual(readAfter["d"] as? Int, 20782)
    XCTAssertEqual(readAfter["tstz"] as? String, "2026-11-25T08:00:00.000000Z")
    readAfter["id"] = nil
    createdAfter["id"] = nil
    XCTAssertEqual(canonicalJSON(readAfter), canonicalJSON(createdAfter), "every type as streamed")
    XCTAssertTrue(read["before"] is NSNull)
    let source = try XCTUnwrap(read["source"] as? [String: Any])
    // The first table's only row: Debezium's `first` (its `last` goes to the last table's).
    XCTAssertEqual(source["snapshot"] as? String, "first")
    XCTAssertEqual(source["table"] as? String, "snap_types")
    XCTAssertNotNil(source["lsn"] as? Int)
    XCTAssertTrue((source["sequence"] as? String)?.hasPrefix("[null,") == true)
    XCTAssertEqual((created["source"] as? [String: Any])?["snapshot"] as? String, "false")

    let nokey = try worker.records("snap.public.snap_nokey")
    XCTAssertEqual(nokey.count, 2)
    XCTAssertTrue(nokey.allSatisfy { $0["key"] is NSNull || $0["key"] == nil })
    XCTAssertEqual(
      Set(
        nokey.compactMap {
          (($0["value"] as? [String: Any])?["after"] as? [String: Any])?["b"] as? String
        }),
      ["x", "y"])

    let composite = try worker.records("snap.public.snap_composite")
    // Debezium's marks on a table between the first and the last: its first row, every other,
    // and its last (the snapshot's `last` would be the last table's, the sentinel's, empty).
    var marks: [String: [String]] = [:]
    for record in composite {
      guard let value = record["value"] as? [String: Any], value["op"] as? String == "r",
        let source = value["source"] as? [String: Any], let mark = source["snapshot"] as? String,
        let key = record["key"] as? [String: Any]
      else { continue }
      marks[mark, default: []].append("\(key["name"] ?? "")/\(key["n"] ?? "")")
    }
    XCTAssertEqual(marks["first_in_data_collection"], ["k0/7"], "the first row in key order")
    XCTAssertEqual(marks["last_in_data_collection"], ["k6/4997"], "the last row in key order")
    XCTAssertEqual(marks["true"]?.count, 4998)
    XCTAssertEqual(marks.count, 3, "\(marks.keys)")
    let keys = composite.compactMap { $0["key"] as? [String: Any] }
    XCTAssertEqual(keys.count, 5001)
    XCTAssertEqual(Set(keys.map(canonicalJSON)).count, 5001, "each row once")
    // Read in key order: within each partition the snapshot's keys ascend by (name, n).
    for partition in 0..<3 {
      let read = composite.filter {
        $0["partition"] as? Int == partition
          && ($0["value"] as? [String: Any])?["op"] as? String == "r"
      }.compactMap { $0["key"] as? [String: Any] }.map {
        ($0["name"] as? String ?? "", $0["n"] as? Int ?? 0)
      }
      XCTAssertGreaterThan(read.count, 1000)
      XCTAssertTrue(
        zip(read, read.dropFirst()).allSatisfy { $0 < $1 }, "key order in partition \(partition)")
    }
    XCTAssertNotNil(worker.terminate())
  }

  // MARK: - Exactly once

  /// With transaction metadata: after each kill the next segment's rows hold some changes of
  /// transactions made while the snapshot ran, which the replay filter drops; each END counts
  /// the events of its transaction in the topics, whose orders run from 1 without gaps.
  func testChangesDuringTheSnapshotAppearOnceAcrossSIGKILLInTheMiddleOfIt() throws {
    try crashTest(name: "snap-crash", threads: 1, transactions: 2000, seed: 7, metadata: true)
  }

  /// Four readers for three tables (two loaded, and the workload's sentinel table): each loaded
  /// table is cut into key ranges read in parallel, and a kill leaves several parts partly read.
  /// The log compresses its batches (`compression: lz4`), so recovery after each kill and the
  /// final check read compressed batches.
  func testChangesDuringAParallelSnapshotAppearOnceAcrossSIGKILLInTheMiddleOfIt() throws {
    try crashTest(
      name: "snap-pcrash", threads: 4, transactions: 1000, seed: 11, compression: "lz4")
  }

  private func crashTest(
    name: String, threads: Int, transactions: Int, seed: UInt64, compression: String = "none",
    metadata: Bool = false
  ) throws {
    let prefix = name.replacingOccurrences(of: "-", with: "_")
    let workload = SnapshotWorkload(
      prefix: prefix, preloaded: 100_000, transactions: transactions, seed: seed)
    try workload.prepare(url)
    slotsToDrop.append(prefix)
    let worker = try WorkerProcess(
      log: "{ partitions: 1, fsync: batch, compression: \(compression) }")
    try worker.useThreePartitions()
    try worker.writeConnector(
      name,
      connectorYAML(
        name, tables: workload.tableList, topic: "sc.{table}",
        extra: "  snapshot_max_threads: \(threads)\n  provide_transaction_metadata: \(metadata)"))
    try worker.start()
    let runner = workload.run(url)

    // Kills at random moments of the snapshot, as long as it runs…
    var killsWhileSnapshotting = 0
    let snapshotting = try CrashLoop(atLeast: 0, atMost: 12, pauses: 0.05...0.5, startTimeout: 60)
      .run(
        worker, while: { killsWhileSnapshotting < 5 },
        ready: {
          // Wait for the restarted task to be back in its snapshot; stop once it is past it.
          let deadline = Date().addingTimeInterval(20)
          var state = self.detail(worker, name, "state")
          while state != "snapshotting" && state != "streaming" && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
            state = self.detail(worker, name, "state")
          }
          return state == "snapshotting"
        },
        busy: {
          let busy = self.detail(worker, name, "state") == "snapshotting"
          if busy { killsWhileSnapshotting += 1 }
          return busy
        })
    // …then while the rest of the workload streams.
    let streaming = try CrashLoop(
      atLeast: 0, atMost: 16 - snapshotting.kills, pauses: 0.3...1.2, startTimeout: 60
    ).run(worker, while: { !runner.finished })
    let kills = snapshotting.kills + streaming.kills
    try waitUntil("the workload's end", timeout: 300) { runner.finished }
    XCTAssertNil(runner.failure)
    XCTAssertGreaterThanOrEqual(killsWhileSnapshotting, 3, "kills in the middle of the snapshot")
    try waitForStreaming(worker, name)
    try workload.verify(worker, topicPrefix: "sc.", context: "after \(kills) kills")
    if metadata { try verifyTransactionCounts(worker, name: name, tables: workload.tables) }
    if compression == "lz4", let table = workload.tables.first {
      let codecs = try (0..<3).flatMap { try worker.storedCodecs("sc.\(table)", partition: $0) }
      XCTAssertFalse(codecs.isEmpty)
      XCTAssertEqual(Set(codecs), [3], "every batch of sc.\(table) is lz4")
    }
    let log = worker.log()
    let resumed = log.components(separatedBy: "resuming the interrupted snapshot").count - 1
    XCTAssertGreaterThanOrEqual(resumed, 1, "a snapshot segment was resumed")
    if threads > 1 {
      // Two key ranges for each loaded table, and the sentinel table whole.
      XCTAssertTrue(
        log.contains("parts=5") || log.contains(#""parts":"5""#),
        "the two loaded tables read as two key ranges each")
    }
    print(
      "CDC snapshot crash test (snapshot_max_threads \(threads)): \(kills) kills, \(killsWhileSnapshotting) while snapshotting, \(resumed) resumed segments, snapshot_overlap_dropped \(detail(worker, name, "snapshot_overlap_dropped") ?? "0")"
    )
    XCTAssertNotNil(worker.terminate())
  }

  /// Each transaction with events in `tables` has one END, whose counts are its events there,
  /// and their `total_order`s are 1 to that count.
  private func verifyTransactionCounts(_ worker: WorkerProcess, name: String, tables: [String])
    throws
  {
    func xid(_ id: Any?) -> Int? { (id as? String).flatMap { Int($0.split(separator: ":")[0]) } }
    var orders: [Int: [Int]] = [:]
    var perTable: [Int: [String: Int]] = [:]
    for table in tables {
      for record in try worker.records("sc.\(table)") {
        guard let value = record["value"] as? [String: Any],
          let block = value["transaction"] as? [String: Any], let x = xid(block["id"])
        else { continue }  // tombstones and snapshot reads
        orders[x, default: []].append(try XCTUnwrap(block["total_order"] as? Int))
        perTable[x, default: [:]]["public.\(table)", default: 0] += 1
      }
    }
    var ends: [Int: [String: Any]] = [:]
    for record in try worker.records("\(name).transaction") {
      guard let value = record["value"] as? [String: Any], value["status"] as? String == "END",
        let x = xid(value["id"])
      else { continue }
      XCTAssertNil(ends[x], "a second END of \(x)")
      ends[x] = value
    }
    var checked = 0
    for (x, got) in orders {
      guard let end = ends[x] else {
        XCTFail("no END for transaction \(x)")
        continue
      }
      XCTAssertEqual(end["event_count"] as? Int, got.count, "END of \(x)")
      XCTAssertEqual(got.sorted(), Array(1...got.count), "the orders of \(x)")
      let collections = (end["data_collections"] as? [[String: Any]] ?? []).map {
        ($0["data_collection"] as? String ?? "?", $0["event_count"] as? Int ?? -1)
      }
      XCTAssertEqual(Dictionary(collections, uniquingKeysWith: +), perTable[x], "END of \(x)")
      checked += 1
    }
    XCTAssertGreaterThan(checked, 100, "transactions checked")
    print("snapshot crash test: \(checked) transactions' END counts checked")
  }

  /// A table without a primary key is read by ctid ranges: a kill in the middle of it resumes
  /// after the last row durable instead of reading the table again, so every row is there once.
  func testAKeylessTableIsReadOnceAcrossSIGKILLInTheMiddleOfIt() throws {
    // Enough rows, and kills soon enough after each start, for several kills to land while
    // the snapshot runs (it read 150,000 rows between two kills once readers encoded batches).
    let rows = 300_000
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS snap_keyless;
      CREATE TABLE snap_keyless (n int, note text);
      ALTER TABLE snap_keyless REPLICA IDENTITY FULL;
      INSERT INTO snap_keyless SELECT g, repeat('k', 200) FROM generate_series(1, \(rows)) g;
      ANALYZE snap_keyless;
      """)
    slotsToDrop.append("snap_keyless")
    let worker = try WorkerProcess()
    try worker.useThreePartitions()
    try worker.writeConnector(
      "snap-keyless",
      connectorYAML(
        "snap-keyless", tables: "[snap_keyless]", topic: "kl.{table}",
        extra: "  snapshot_max_threads: 2"))
    try worker.start()
    var killsWhileSnapshotting = 0
    try CrashLoop(atLeast: 0, atMost: 8, pauses: 0.05...0.4, startTimeout: 60).run(
      worker, while: { killsWhileSnapshotting < 3 },
      ready: {
        let deadline = Date().addingTimeInterval(20)
        var state = self.detail(worker, "snap-keyless", "state")
        while state != "snapshotting" && state != "streaming" && Date() < deadline {
          Thread.sleep(forTimeInterval: 0.02)
          state = self.detail(worker, "snap-keyless", "state")
        }
        return state == "snapshotting"
      },
      busy: {
        let busy = self.detail(worker, "snap-keyless", "state") == "snapshotting"
        if busy { killsWhileSnapshotting += 1 }
        return busy
      })
    try waitForStreaming(worker, "snap-keyless")
    XCTAssertGreaterThanOrEqual(killsWhileSnapshotting, 2, "kills in the middle of the snapshot")
    let records = try worker.records("kl.snap_keyless")
    var seen: [Int: Int] = [:]
    for record in records {
      guard let n = ((record["value"] as? [String: Any])?["after"] as? [String: Any])?["n"] as? Int
      else { continue }
      seen[n, default: 0] += 1
    }
    XCTAssertEqual(seen.count, rows, "every row")
    XCTAssertEqual(seen.values.filter { $0 > 1 }.count, 0, "no row twice")
    XCTAssertEqual(records.count, rows)
    let log = worker.log()
    let resumed = log.components(separatedBy: "resuming the interrupted snapshot").count - 1
    XCTAssertGreaterThanOrEqual(resumed, 1, "a snapshot segment was resumed")
    XCTAssertTrue(
      log.contains("parts=2") || log.contains(#""parts":"2""#), "the table read as two block ranges"
    )
    print(
      "CDC keyless snapshot crash test: \(killsWhileSnapshotting) kills while snapshotting, \(resumed) resumed segments, \(records.count) records"
    )
    XCTAssertNotNil(worker.terminate())
  }

  // MARK: - Compressed by the readers

  /// With `log.compression: lz4` the snapshot's readers compress the events as they encode
  /// them, and the writer adds each send's last event (the one with the position) to the same
  /// LZ4 frame: every Kafka client and kcat read those batches through the listener, each row
  /// once, in key order.
  func testASnapshotCompressedByItsReadersIsReadByEveryKafkaClient() throws {
    let rows = 40_000
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS snap_lz4;
      CREATE TABLE snap_lz4 (id int PRIMARY KEY, pad text);
      INSERT INTO snap_lz4 SELECT g, md5(g::text) FROM generate_series(1, \(rows)) g;
      """)
    slotsToDrop.append("snap_lz4")
    let port = try WorkerProcess.freePort()
    let worker = try WorkerProcess(
      workerYAMLExtra: "kafka: { listen: 127.0.0.1:\(port) }\n",
      log: "{ partitions: 1, fsync: batch, compression: lz4 }")
    try worker.writeConnector(
      "snap-lz4",
      connectorYAML(
        "snap-lz4", tables: "[snap_lz4]", topic: "lz4.{table}", extra: "  snapshot: initial_only"))
    try worker.start()
    try waitUntil("the snapshot's end", timeout: 60) {
      self.detail(worker, "snap-lz4", "state")?.contains("initial_only") == true
    }
    let codecs = try worker.storedCodecs("lz4.snap_lz4")
    XCTAssertGreaterThan(codecs.count, 1, "several sends")
    XCTAssertEqual(Set(codecs), [3], "every batch lz4")
    let bootstrap = "127.0.0.1:\(port)"
    func ids(_ keys: [String]) -> [Int] {
      keys.compactMap {
        (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? Int
      }
    }
    for client in ["confluent", "kafka-python", "aiokafka"] {
      let read = try runProgram(
        KafkaWorkerTestCase.python,
        ["-c", KafkaClientTests.readKeysScript, client, bootstrap, "lz4.snap_lz4", "\(rows)"])
      let keys = read.output.split(separator: "\n").last.flatMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String]
      }
      XCTAssertEqual(
        ids(keys ?? []), Array(1...rows), "\(client): \(read.output.suffix(1500))")
    }
    let kcat = try runProgram(
      "/usr/bin/kcat",
      [
        "-C", "-b", bootstrap, "-t", "lz4.snap_lz4", "-p", "0", "-o", "beginning", "-c", "\(rows)",
        "-e", "-f", "%k\n",
      ])
    XCTAssertEqual(kcat.status, 0, String(kcat.output.suffix(1500)))
    XCTAssertEqual(
      ids(kcat.output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("{") }),
      Array(1...rows), "kcat")
    XCTAssertNotNil(worker.terminate())
  }

  // MARK: - initial_only

  func testInitialOnlyReadsTheTablesOnceAndKeepsNoSlot() throws {
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS snap_once;
      CREATE TABLE snap_once (id int PRIMARY KEY, v text);
      INSERT INTO snap_once SELECT g, 'v' || g FROM generate_series(1, 300) g;
      """)
    slotsToDrop.append("snap_once")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "snap-once",
      connectorYAML(
        "snap-once", tables: "[snap_once]", topic: "once.{table}", extra: "  snapshot: initial_only"
      ))
    try worker.start()
    try waitUntil("the snapshot's end", timeout: 30) {
      self.detail(worker, "snap-once", "state")?.contains("initial_only") == true
    }
    XCTAssertEqual(try worker.records("once.snap_once").count, 300)
    XCTAssertEqual(
      try cdcPSQL(
        url, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'snap_once%'"),
      "0", "no slot pins WAL")
    // Nothing more: no streaming, and a restart does not read the tables again.
    try cdcPSQL(url, "INSERT INTO snap_once VALUES (301, 'late')")
    worker.kill9()
    try worker.start()
    try waitUntil("the task back", timeout: 30) {
      self.detail(worker, "snap-once", "state")?.contains("initial_only") == true
    }
    Thread.sleep(forTimeInterval: 1)
    let records = try worker.records("once.snap_once")
    XCTAssertEqual(records.count, 300)
    XCTAssertTrue(records.allSatisfy { ($0["value"] as? [String: Any])?["op"] as? String == "r" })
    XCTAssertNotNil(worker.terminate())
  }
}

/// Two tables preloaded with rows, and a random workload of updates, inserts and deletes (some
/// transactions rolled back) run while the snapshot reads them; each key's history of states.
///
/// What a topic must hold per key: the history from some point on, exactly — a snapshot read
/// (`r`) of the state the key had at that point, or its insert, and then every later change
/// once, in order. Nothing before that point may appear and nothing after it may be missing.
final class SnapshotWorkload: @unchecked Sendable {
  let tables: [String]
  /// A table of the connector's that the workload leaves alone: a row committed to it after
  /// the workload is the sentinel ``verify(_:topicPrefix:context:)`` waits for.
  let sentinelTable: String
  let preloaded: Int
  private(set) var chunks: [String] = []
  /// Per "table|id": "c:v", "u:v", "d", "tomb", starting with the preloaded "c:0".
  private(set) var history: [String: [String]] = [:]

  init(prefix: String, preloaded: Int, transactions: Int, seed: UInt64) {
    tables = ["\(prefix)_a", "\(prefix)_b"]
    sentinelTable = "\(prefix)_end"
    self.preloaded = preloaded
    var random = SeededGenerator(seed: seed)
    var present: [String: Set<Int>] = [:]
    for table in tables {
      present[table] = Set(1...preloaded)
      for id in 1...preloaded { history["\(table)|\(id)"] = ["c:0"] }
    }
    var sql = ""
    var version = 0
    for t in 1...transactions {
      let rolledBack = t % 50 == 0
      var statements: [String] = []
      var events: [(String, String)] = []
      var presentAfter = present
      for _ in 0..<Int.random(in: 5...15, using: &random) {
        let table = tables.randomElement(using: &random)!
        let id = Int.random(in: 1...(preloaded + 3000), using: &random)
        version += 1
        let v = rolledBack ? -version : version
        let key = "\(table)|\(id)"
        if presentAfter[table]!.contains(id) {
          if Int.random(in: 0..<10, using: &random) < 2 {
            statements.append("DELETE FROM \(table) WHERE id = \(id);")
            presentAfter[table]!.remove(id)
            events += [(key, "d"), (key, "tomb")]
          } else {
            statements.append("UPDATE \(table) SET v = \(v) WHERE id = \(id);")
            events.append((key, "u:\(v)"))
          }
        } else {
          statements.append("INSERT INTO \(table) VALUES (\(id), \(v), 'i');")
          presentAfter[table]!.insert(id)
          events.append((key, "c:\(v)"))
        }
      }
      sql +=
        "BEGIN;\n" + statements.joined(separator: "\n")
        + (rolledBack ? "\nROLLBACK;\n" : "\nCOMMIT;\n")
      if !rolledBack {
        present = presentAfter
        for (key, event) in events { history[key, default: []].append(event) }
      }
      if t % 25 == 0 || t == transactions {
        chunks.append(sql)
        sql = ""
      }
    }
  }

  var tableList: String { "[" + (tables + [sentinelTable]).joined(separator: ", ") + "]" }

  func prepare(_ url: String) throws {
    var sql = ""
    for table in tables {
      sql += """
        DROP TABLE IF EXISTS \(table);
        CREATE TABLE \(table) (id int PRIMARY KEY, v bigint, note text);
        INSERT INTO \(table) SELECT g, 0, repeat('p', 40) FROM generate_series(1, \(preloaded)) g;
        ANALYZE \(table);

        """
    }
    sql +=
      "DROP TABLE IF EXISTS \(sentinelTable); CREATE TABLE \(sentinelTable) (id int PRIMARY KEY);\n"
    try cdcPSQL(url, sql)
  }

  func run(_ url: String) -> CDCWorkload.Runner { .start(chunks, url: url) }

  /// The events a key's history must show from the event at `index` on, the first as what
  /// the topic holds for it (`r:v` for a snapshot read of a state).
  func verify(_ worker: WorkerProcess, topicPrefix: String, context: String) throws {
    // The end: every key's last event is in (the last change of the workload is streamed).
    var actual: [String: [String]] = [:]
    try waitUntil("every key's last change", timeout: 240) {
      actual = try self.actualEvents(worker, topicPrefix: topicPrefix)
      return self.history.allSatisfy { key, events in
        events.last == "tomb" || actual[key]?.last?.dropFirst(2) == events.last?.dropFirst(2)
      }
    }
    try passCDCSentinel(
      worker, url: TestServers.postgresURL, table: sentinelTable,
      topic: topicPrefix + sentinelTable)
    actual = try actualEvents(worker, topicPrefix: topicPrefix)
    var wrong = 0
    var readDuringWorkload = 0
    var reads = 0
    for (key, events) in history {
      let got = actual[key] ?? []
      var ok: Bool
      if let first = got.first {
        let value = first.dropFirst(2)
        // The point the topic's history starts at: the state read, or the insert.
        let start =
          first.hasPrefix("r:")
          ? events.lastIndex {
            ($0.hasPrefix("c:") || $0.hasPrefix("u:")) && $0.dropFirst(2) == value
          }
          : first.hasPrefix("c:") ? events.lastIndex(of: first) : nil
        ok = start.map { Array(got.dropFirst()) == Array(events[($0 + 1)...]) } ?? false
        if first.hasPrefix("r:") {
          reads += 1
          if start ?? 0 > 0 { readDuringWorkload += 1 }
        }
      } else {
        ok = events.last == "tomb"  // gone before the snapshot read it, never back
      }
      if !ok {
        if wrong < 5 { XCTFail("\(key): history \(events), topic \(got) \(context)") }
        wrong += 1
      }
    }
    XCTAssertEqual(wrong, 0, "keys whose events are not exactly their history's end \(context)")
    XCTAssertGreaterThan(reads, preloaded, "snapshot reads")
    print(
      "snapshot workload: \(history.count) keys, \(reads) read by the snapshot (\(readDuringWorkload) after changes made while it ran), \(actual.values.map(\.count).reduce(0, +)) events \(context)"
    )
  }

  private func actualEvents(_ worker: WorkerProcess, topicPrefix: String) throws -> [String:
    [String]]
  {
    var actual: [String: [String]] = [:]
    for table in tables {
      for record in try worker.records(topicPrefix + table) {
        guard let id = (record["key"] as? [String: Any])?["id"] as? Int else { continue }
        let name = "\(table)|\(id)"
        guard let value = record["value"] as? [String: Any] else {
          actual[name, default: []].append("tomb")
          continue
        }
        let op = value["op"] as? String ?? "?"
        let v = (value["after"] as? [String: Any])?["v"] as? Int ?? 0
        actual[name, default: []].append(op == "d" ? "d" : "\(op):\(v)")
      }
    }
    return actual
  }
}
