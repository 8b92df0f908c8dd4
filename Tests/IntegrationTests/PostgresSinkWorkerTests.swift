import Foundation
import SluiceTestBrokers
import XCTest

/// The PostgreSQL sink inside a real worker process against the PostgreSQL of `make test`:
/// exactly-once under SIGKILL, a poison record dead-lettered with the database's error, and a
/// random workload of Debezium events replicated into a second database.
final class PostgresSinkWorkerTests: XCTestCase {
  var url: String {
    TestServers.postgresURL
  }

  /// A second database on the same server, for replication tests.
  var replicaURL: String { String(url[..<url.lastIndex(of: "/")!]) + "/sluice_replica" }

  /// Runs SQL (any number of statements, given on standard input) with psql and returns its
  /// unaligned output.
  @discardableResult
  func psql(_ sql: String, on database: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
    process.arguments = [database ?? url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-f", "-"]
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

  /// The sink keeps its offsets in the database: forget any from an earlier run.
  func forgetOffsets(of connector: String, on database: String? = nil) throws {
    try psql(
      """
      CREATE TABLE IF NOT EXISTS sluice_sink_offsets (connector text NOT NULL, topic text NOT NULL,
        "partition" integer NOT NULL, next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (connector, topic, "partition"));
      DELETE FROM sluice_sink_offsets WHERE connector = '\(connector)'
      """, on: database)
  }

  func testInsertModeLandsEveryRecordOnceAcrossRepeatedSIGKILL() throws {
    try insertModeLandsEveryRecordOnceAcrossRepeatedSIGKILL(table: "crash_rows", cluster: nil)
  }

  /// The same with the topic on a Kafka cluster (`store: kafka`, Sluice's own listener as the
  /// cluster): the sink is the consumer group `connect-crash-sink` and seeks to the offsets it
  /// keeps in its own database transaction.
  func testInsertModeLandsEveryRecordOnceAcrossRepeatedSIGKILLOnKafka() throws {
    let cluster = try BrokerProcess(.sluice)
    try cluster.start()
    defer { cluster.stop() }
    try insertModeLandsEveryRecordOnceAcrossRepeatedSIGKILL(
      table: "crash_rows_kafka", cluster: cluster)
  }

  private func insertModeLandsEveryRecordOnceAcrossRepeatedSIGKILL(
    table: String, cluster: BrokerProcess?
  ) throws {
    try psql(
      "DROP TABLE IF EXISTS \(table); CREATE TABLE \(table) (n bigint, pad text, at timestamptz DEFAULT now())"
    )
    try forgetOffsets(of: "crash-sink")
    let worker = try WorkerProcess(
      workerYAMLExtra: cluster.map { "store: { kind: kafka, bootstrap: [\($0.address)] }" } ?? "")
    let input = worker.directory.appendingPathComponent("rows.jsonl")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    try worker.writeConnector(
      "crash-in",
      "name: crash-in\nsource: file\ntopic: crash\nconfig: { path: \(input.path), batch_lines: 1000, poll_ms: 20 }\n"
    )
    try worker.writeConnector(
      "crash-sink",
      """
      name: crash-sink
      sink: postgres
      topics: [crash]
      config: { url: "\(url)", table: \(table), mode: insert, batch_size: 500 }
      """)
    try worker.start()

    let total = 100_000
    let pad = String(repeating: "x", count: 100)
    let writer = LineWriter(
      url: input, total: total, linesPerChunk: 2000, pause: 0.1,
      makeLine: { #"{"n": \#($0), "pad": "\#(pad)"}"# })
    writer.start()

    let crashes = try CrashLoop(atLeast: 6, pauses: 0.1...0.6).run(
      worker, while: { !writer.finished },
      busy: { try Int(self.psql("SELECT count(*) FROM \(table)")) ?? 0 < total })
    XCTAssertGreaterThanOrEqual(crashes.whileBusy, 5, "kills while rows were still arriving")

    try waitUntil("all rows in \(table)", timeout: 120) {
      (try? Int(self.psql("SELECT count(*) FROM \(table)")) ?? 0) ?? 0 >= total
    }
    // A sentinel line after the last: in offset order, any repeat lands before its row does.
    try append([#"{"n": \#(total + 1), "pad": "end"}"#], to: input)
    try waitUntil("the sentinel row", timeout: 60) {
      try self.psql("SELECT count(*) FROM \(table) WHERE n = \(total + 1)") == "1"
    }
    let summary = try psql(
      "SELECT count(*), count(DISTINCT n), min(n), max(n) FROM \(table)")
    XCTAssertEqual(
      summary, "\(total + 1)|\(total + 1)|1|\(total + 1)",
      "rows, distinct, min, max after \(crashes.kills) kills")
    XCTAssertNotNil(worker.terminate())
  }

  /// End to end on Tansu as the cluster: records produced to a topic on it reach a table
  /// through the PostgreSQL sink (consumer group `connect-tansu-pg`) and an HTTP receiver
  /// through the HTTP sink (`connect-tansu-http`), each record once.
  func testPostgresAndHTTPSinksReadATansuTopic() throws {
    let cluster = try BrokerProcess(.tansu)
    try cluster.start()
    defer { cluster.stop() }
    try psql("DROP TABLE IF EXISTS tansu_rows; CREATE TABLE tansu_rows (n bigint PRIMARY KEY, pad text)")
    try forgetOffsets(of: "tansu-pg")
    let receiver = try HTTPReceiver.start()
    let worker = try WorkerProcess(
      workerYAMLExtra: "store: { kind: kafka, bootstrap: [\(cluster.address)], default_partitions: 2 }")
    try worker.writeConnector(
      "tansu-pg",
      """
      name: tansu-pg
      sink: postgres
      topics: [tansu-rows]
      config: { url: "\(url)", table: tansu_rows, mode: insert, batch_size: 100 }
      """)
    try worker.writeConnector(
      "tansu-http",
      """
      name: tansu-http
      sink: http
      topics: [tansu-rows]
      config: { url: "\(receiver.url)/rows" }
      """)
    try worker.start()
    let total = 600
    for chunk in stride(from: 0, to: total, by: 200) {
      let records = (chunk..<chunk + 200).map { #"{"key": "k\#($0)", "value": {"n": \#($0), "pad": "p"}}"# }
      let (status, body) = try worker.post(
        "/topics/tansu-rows/records", json: #"{"records": [\#(records.joined(separator: ","))]}"#)
      XCTAssertEqual(status, 200, String(decoding: body, as: UTF8.self))
    }
    // Tansu takes ~23 s to complete a group's first assignment.
    try waitUntil("every row in tansu_rows", timeout: 120) {
      (try? Int(self.psql("SELECT count(*) FROM tansu_rows")) ?? 0) ?? 0 >= total
    }
    receiver.wait(timeout: 120) { _ in receiver.deliveredByKey.count >= total }
    XCTAssertEqual(
      try psql("SELECT count(*), count(DISTINCT n), min(n), max(n) FROM tansu_rows"),
      "\(total)|\(total)|0|\(total - 1)")
    let bodies = Set(receiver.received.filter { (200..<300).contains($0.status) }.compactMap {
      (try? JSONSerialization.jsonObject(with: Data($0.bodyText.utf8)) as? [String: Any])?["n"] as? Int
    })
    XCTAssertEqual(bodies, Set(0..<total), "records the HTTP receiver accepted")
    XCTAssertEqual(receiver.deliveredByKey.count, total, "one idempotency key per record")
    XCTAssertNotNil(worker.terminate())
  }

  func testAPoisonRecordGoesToTheDeadLetterTopicAndTheRestLands() throws {
    try psql(
      """
      DROP TABLE IF EXISTS dlq_counts; CREATE TABLE dlq_counts (id int PRIMARY KEY, n int NOT NULL)
      """)
    try forgetOffsets(of: "counts-sink")
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("counts.jsonl")
    try append(
      [#"{"id": 1, "n": 1}"#, #"{"id": 2, "n": "lots"}"#, #"{"id": 3, "n": 3}"#], to: input)
    try worker.writeConnector(
      "counts-in",
      "name: counts-in\nsource: file\ntopic: counts\nconfig: { path: \(input.path), poll_ms: 20 }\n"
    )
    try worker.writeConnector(
      "counts-sink",
      """
      name: counts-sink
      sink: postgres
      topics: [counts]
      config: { url: "\(url)", table: dlq_counts, mode: upsert, primary_key: [id] }
      errors: { tolerance: all, dlq_topic: counts.dlq, retries: 1, retry_backoff_ms: 10 }
      """)
    try worker.start()
    try waitUntil("the poison dead-lettered", timeout: 30) {
      ((try? worker.records("counts.dlq")) ?? []).count == 1
    }
    XCTAssertEqual(try psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM dlq_counts"), "1,3")
    let dead = try XCTUnwrap(worker.records("counts.dlq").first)
    XCTAssertEqual(dead["value"] as? [String: Any] as NSDictionary?, ["id": 2, "n": "lots"])
    let headers = try XCTUnwrap(dead["headers"] as? [String: Any])
    let reason = try XCTUnwrap(headers["sluice.error.reason"] as? String)
    XCTAssertTrue(reason.contains("invalid input syntax for type integer"), reason)
    XCTAssertEqual(headers["sluice.error.offset"] as? String, "1")
    XCTAssertNotNil(worker.terminate())
  }

  func testDebeziumEventsReplicateARandomWorkloadIntoASecondDatabase() throws {
    let ddl = """
      DROP TABLE IF EXISTS items;
      CREATE TABLE items (id int PRIMARY KEY, name text, qty int, price numeric(12,2), tags text[],
        meta jsonb, updated timestamptz);
      """
    if try psql("SELECT 1 FROM pg_database WHERE datname = 'sluice_replica'").isEmpty {
      try psql("CREATE DATABASE sluice_replica")
    }
    try psql(ddl)
    try psql(ddl, on: replicaURL)
    try forgetOffsets(of: "repl-sink", on: replicaURL)

    // A random workload on the source table, and the change events Debezium would emit for it.
    var generator = SystemRandomNumberGenerator()
    var present = Set<Int>()
    var script = ""
    var events: [String] = []
    func source(_ lsn: Int) -> String {
      #""source":{"connector":"postgresql","db":"sluice_test","schema":"public","table":"items","lsn":\#(lsn)}"#
    }
    for step in 1...3000 {
      let id = Int.random(in: 1...200, using: &generator)
      let key = #"{"id":\#(id)}"#
      if present.contains(id) && Int.random(in: 0..<10, using: &generator) < 3 {
        present.remove(id)
        script += "DELETE FROM items WHERE id = \(id);\n"
        events.append(
          #"{"key":\#(key),"value":{"before":{"id":\#(id)},"after":null,\#(source(step)),"op":"d","ts_ms":1}}"#
        )
        events.append(#"{"key":\#(key),"value":null}"#)  // Debezium's tombstone
        continue
      }
      let name = "it's \"item\" \(id)/\(step)"
      let qty = Int.random(in: -5...1000, using: &generator)
      let price =
        "\(Int.random(in: 0...99999, using: &generator)).\(Int.random(in: 10...99, using: &generator))"
      let updated = "2026-11-25T10:\(String(format: "%02d", step % 60)):00Z"
      let sqlName = name.replacingOccurrences(of: "'", with: "''")
      script +=
        "INSERT INTO items VALUES (\(id), '\(sqlName)', \(qty), \(price), ARRAY['a', 's\(step)'], '{\"step\": \(step)}', '\(updated)') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty, price = EXCLUDED.price, tags = EXCLUDED.tags, meta = EXCLUDED.meta, updated = EXCLUDED.updated;\n"
      let jsonName = name.replacingOccurrences(of: "\"", with: "\\\"")
      let after =
        #"{"id":\#(id),"name":"\#(jsonName)","qty":\#(qty),"price":"\#(price)","tags":["a","s\#(step)"],"meta":{"step":\#(step)},"updated":"\#(updated)"}"#
      let op = present.insert(id).inserted ? "c" : "u"
      events.append(
        #"{"key":\#(key),"value":{"before":null,"after":\#(after),\#(source(step)),"op":"\#(op)","ts_ms":1}}"#
      )
    }
    try psql(script)

    let worker = try WorkerProcess()
    try worker.writeConnector(
      "repl-sink",
      """
      name: repl-sink
      sink: postgres
      topics: [shop.public.items]
      config: { url: "\(replicaURL)", table: "{source.table}", mode: upsert, batch_size: 250 }
      """)
    try worker.start()
    for chunk in stride(from: 0, to: events.count, by: 400) {
      let body = events[chunk..<min(events.count, chunk + 400)].joined(separator: ",")
      let answer = try worker.post(
        "/topics/shop.public.items/records", json: #"{"records":[\#(body)]}"#)
      XCTAssertEqual(answer.status, 200, String(decoding: answer.body, as: UTF8.self))
    }
    try waitUntil("the sink caught up", timeout: 60) {
      let done = try self.psql(
        "SELECT coalesce(sum(next_offset), 0) FROM sluice_sink_offsets WHERE connector = 'repl-sink'",
        on: self.replicaURL)
      return Int(done) == events.count
    }
    let query = "SELECT id, name, qty, price, tags, meta, updated FROM items ORDER BY id"
    let expected = try psql(query)
    XCTAssertFalse(expected.isEmpty)
    XCTAssertEqual(try psql(query, on: replicaURL), expected)
    XCTAssertEqual(
      try psql("SELECT count(*) FROM items", on: replicaURL), "\(present.count)")
    XCTAssertNotNil(worker.terminate())
  }
}
