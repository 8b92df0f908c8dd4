import Foundation
import Logging
import SluiceCore
import SluicePostgres
import SluiceTestBrokers
import XCTest

@testable import PostgresSinkConnector

/// The PostgreSQL sink task against the real PostgreSQL that `make test` starts
/// (`SLUICE_TEST_PG_URL`): modes, deletes, truncates, schema changes, quoting and its offsets.
final class PostgresSinkTests: XCTestCase {
  var url: String {
    TestServers.postgresURL
  }

  private func database() throws -> PostgresConnection {
    try PostgresConnection(url: url, password: nil, applicationName: "sluice-tests")
  }

  private func task(_ name: String, _ config: String) throws -> PostgresSinkTask {
    let definition = try ConnectorDefinition.parse(
      text: "name: \(name)\nsink: postgres\ntopics: [t]\nconfig:\n  url: \(url)\n\(config)",
      file: "\(name).yaml")
    return PostgresSinkTask(
      config: try PostgresSinkConfig(definition: definition), context: TestSinkContext(name))
  }

  private func reset(_ tables: [String], connector: String) throws {
    let db = try database()
    for table in tables { try db.execute("DROP TABLE IF EXISTS public.\(quoteIdentifier(table))") }
    try db.execute(
      "CREATE TABLE IF NOT EXISTS sluice_sink_offsets (connector text NOT NULL, topic text NOT NULL, \"partition\" integer NOT NULL, next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (connector, topic, \"partition\"))"
    )
    try db.execute("DELETE FROM sluice_sink_offsets WHERE connector = $1", [connector])
  }

  private var nextOffset: Int64 = 0

  private func record(_ topic: String, key: String?, value: String?) -> Record {
    defer { nextOffset += 1 }
    return Record(
      topic: topic, partition: 0, offset: nextOffset, timestamp: 0,
      key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) })
  }

  private func rows(_ sql: String) throws -> [[String?]] { try database().execute(sql) }

  func testInsertModeQuotesIdentifiersAndNeverInterpolatesValues() async throws {
    let table = "Odd \"Name\" t"
    try reset([table, "victim"], connector: "pg-insert")
    try database().execute("CREATE TABLE victim (id int)")
    let sink = try task(
      "pg-insert", "  table: 'Odd \"Name\" t'\n  auto_create: true\n  mode: insert")
    _ = try await sink.open([TopicPartition("shop.orders", 0)])
    try await sink.put([
      record(
        "shop.orders", key: nil, value: #"{"Id": 1, "Customer Name": "'); DROP TABLE victim; --"}"#),
      record(
        "shop.orders", key: nil,
        value: #"{"Id": 2, "Customer Name": "tab\tnew\nline \\ back \u00e9"}"#),
      record("shop.orders", key: nil, value: #"{"Id": 3, "Customer Name": null}"#),
    ])
    XCTAssertEqual(
      try rows("SELECT \"Id\", \"Customer Name\" FROM \(quoteIdentifier(table)) ORDER BY 1"),
      [
        ["1", "'); DROP TABLE victim; --"], ["2", "tab\tnew\nline \\ back é"], ["3", nil],
      ])
    XCTAssertEqual(try rows("SELECT count(*) FROM victim"), [["0"]], "victim table still exists")
    XCTAssertEqual(
      try rows("SELECT next_offset FROM sluice_sink_offsets WHERE connector = 'pg-insert'"),
      [["\(nextOffset)"]])
    await sink.close()
  }

  func testUpsertFoldsKeysAndAppliesDebeziumDeletesTombstonesAndTruncates() async throws {
    try reset(["customers"], connector: "pg-upsert")
    try database().execute("CREATE TABLE customers (id int PRIMARY KEY, name text, tier text)")
    let sink = try task(
      "pg-upsert", "  table: \"{source.table}\"\n  mode: upsert\n  truncate: true")
    _ = try await sink.open([TopicPartition("db.public.customers", 0)])
    func event(_ op: String, _ id: Int, _ after: String?) -> Record {
      let body =
        #"{"before": null, "after": \#(after ?? "null"), "source": {"connector": "postgresql", "schema": "public", "table": "customers"}, "op": "\#(op)", "ts_ms": 1}"#
      return record("db.public.customers", key: #"{"id": \#(id)}"#, value: body)
    }
    try await sink.put([
      event("r", 1, #"{"id": 1, "name": "Ada", "tier": "gold"}"#),
      event("c", 2, #"{"id": 2, "name": "Bob", "tier": "silver"}"#),
      event("u", 1, #"{"id": 1, "name": "Ada L.", "tier": "gold"}"#),  // same key twice
      event("c", 3, #"{"id": 3, "name": "Cy", "tier": "bronze"}"#),
      event("d", 2, nil),
      record("db.public.customers", key: #"{"id": 3}"#, value: nil),  // tombstone
      event("c", 2, #"{"id": 2, "name": "Bob again", "tier": "new"}"#),  // after its delete
    ])
    XCTAssertEqual(
      try rows("SELECT id, name, tier FROM customers ORDER BY id"),
      [["1", "Ada L.", "gold"], ["2", "Bob again", "new"]])

    // Plain JSON with the JSON converter's schema/payload wrapper, then a truncate.
    try await sink.put([
      record(
        "db.public.customers", key: #"{"schema": {}, "payload": {"id": 5}}"#,
        value:
          #"{"schema": {}, "payload": {"op": "c", "after": {"id": 5, "name": "Eve", "tier": "x"}, "source": {"table": "customers"}}}"#
      )
    ])
    XCTAssertEqual(try rows("SELECT count(*) FROM customers"), [["3"]])
    // The converter's null value, what `unwrap` makes of a delete with schemas: a delete.
    try await sink.put([
      record(
        "db.public.customers", key: #"{"schema": {}, "payload": {"id": 5}}"#,
        value: #"{"schema": {"type": "struct", "optional": true}, "payload": null}"#)
    ])
    XCTAssertEqual(try rows("SELECT id FROM customers ORDER BY id"), [["1"], ["2"]])
    try await sink.put([
      record(
        "db.public.customers", key: nil,
        value: #"{"op": "t", "before": null, "after": null, "source": {"table": "customers"}}"#),
      event("c", 9, #"{"id": 9, "name": "After truncate", "tier": "t"}"#),
    ])
    XCTAssertEqual(try rows("SELECT id, name FROM customers"), [["9", "After truncate"]])
    await sink.close()
  }

  func testUpdateModeChangesOnlyExistingRows() async throws {
    try reset(["stock"], connector: "pg-update")
    try database().execute("CREATE TABLE stock (sku text PRIMARY KEY, qty int, note text)")
    try database().execute("INSERT INTO stock VALUES ('a', 1, 'keep'), ('b', 2, 'keep')")
    let sink = try task("pg-update", "  table: stock\n  mode: update\n  primary_key: [sku]")
    _ = try await sink.open([TopicPartition("stock", 0)])
    try await sink.put([
      record("stock", key: nil, value: #"{"sku": "a", "qty": 10}"#),
      record("stock", key: nil, value: #"{"sku": "zz", "qty": 99}"#),
      record("stock", key: nil, value: #"{"sku": "b", "qty": 20}"#),
      record("stock", key: nil, value: #"{"sku": "b", "note": "changed"}"#),
    ])
    XCTAssertEqual(
      try rows("SELECT sku, qty, note FROM stock ORDER BY sku"),
      [["a", "10", "keep"], ["b", "20", "changed"]])
    await sink.close()
  }

  func testDebeziumEncodedValuesAreReadByTheTargetColumnsType() async throws {
    try reset(["dbz_typed"], connector: "pg-dbz-types")
    try database().execute(
      "CREATE TABLE dbz_typed (id int PRIMARY KEY, d date, t3 time(3), t time, ts3 timestamp(3), ts timestamp, amount numeric(10,2), free numeric, cash money, span interval, doc jsonb, at timestamptz)"
    )
    let sink = try task("pg-dbz-types", "  table: dbz_typed\n  mode: upsert")
    _ = try await sink.open([TopicPartition("dbz_typed", 0)])
    // An event as Sluice's CDC source (and Debezium) writes it with the default options.
    try await sink.put([
      record(
        "dbz_typed", key: #"{"id":1}"#,
        value:
          #"{"before":null,"after":{"id":1,"d":20782,"t3":36000500,"t":36000500001,"ts3":1795600800500,"ts":1795600800500001,"amount":"AeJA","free":{"scale":2,"value":"AJY="},"cash":"nA==","span":37091106500000,"doc":"{\"a\": [1, 2]}","at":"2026-11-25T10:00:00.500000Z"},"source":{"version":"sluice","connector":"postgresql"},"op":"c","ts_ms":1}"#
      )
    ])
    XCTAssertEqual(
      try rows(
        "SELECT d::text, t3::text, t::text, ts3::text, ts::text, amount::text, free::text, cash::numeric::text, extract(epoch from span)::text, doc->'a'->>1, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') FROM dbz_typed"
      ),
      [
        [
          "2026-11-25", "10:00:00.5", "10:00:00.500001", "2026-11-25 10:00:00.5",
          "2026-11-25 10:00:00.500001", "1234.56", "1.50", "-1.00", "37091106.500000", "2",
          "2026-11-25 10:00:00.500",
        ]
      ])
    // Values already in PostgreSQL's text form still work.
    try await sink.put([
      record(
        "dbz_typed", key: #"{"id":2}"#,
        value:
          #"{"id":2,"d":"2026-11-25","ts":"2026-11-25T10:00:00","amount":"12.30","doc":{"k":1}}"#)
    ])
    XCTAssertEqual(
      try rows("SELECT d::text, ts::text, amount::text, doc->>'k' FROM dbz_typed WHERE id = 2"),
      [["2026-11-25", "2026-11-25 10:00:00", "12.30", "1"]])
    await sink.close()
  }

  func testAutoCreateAutoEvolveAndTypes() async throws {
    try reset(["readings"], connector: "pg-types")
    let sink = try task(
      "pg-types", "  table: readings\n  mode: upsert\n  auto_create: true\n  auto_evolve: true")
    _ = try await sink.open([TopicPartition("readings", 0)])
    try await sink.put([
      record(
        "readings", key: #"{"id": 1}"#,
        value: #"{"id": 1, "v": 1.25, "ok": true, "doc": {"a": [1, 2]}}"#)
    ])
    XCTAssertEqual(
      try rows(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'readings' ORDER BY ordinal_position"
      ),
      [["id", "bigint"], ["v", "numeric"], ["ok", "boolean"], ["doc", "jsonb"]])
    // A new field appears mid-stream: the column is added and the row lands.
    try await sink.put([
      record("readings", key: #"{"id": 2}"#, value: #"{"id": 2, "v": 3, "unit": "C"}"#)
    ])
    XCTAssertEqual(
      try rows("SELECT id, v, unit, doc->'a'->>1 FROM readings ORDER BY id"),
      [["1", "1.25", nil, "2"], ["2", "3", "C", nil]])

    // Existing typed columns: numeric as an exact string, arrays, bytea as base64, timestamps.
    try database().execute(
      "CREATE TABLE IF NOT EXISTS typed (id int PRIMARY KEY, amount numeric(30,10), tags text[], grid int[], raw bytea, at timestamptz, u uuid, j json)"
    )
    try database().execute("TRUNCATE typed")
    let typed = try task("pg-types2", "  table: typed\n  mode: upsert")
    _ = try await typed.open([TopicPartition("typed", 0)])
    try await typed.put([
      record(
        "typed", key: #"{"id": 1}"#,
        value:
          #"{"id": 1, "amount": "12345678901234567890.0123456789", "tags": ["a b", "c\"d", null], "grid": [[1,2],[3,4]], "raw": "AAEC/w==", "at": "2026-11-25T10:00:00.123Z", "u": "8f14e45f-ceea-467f-a0e6-8f0a6d1f0a22", "j": {"k": "v"}}"#
      )
    ])
    XCTAssertEqual(
      try rows(
        "SELECT amount::text, tags::text, grid::text, encode(raw, 'hex'), to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), u::text, j->>'k' FROM typed"
      ),
      [
        [
          "12345678901234567890.0123456789", "{\"a b\",\"c\\\"d\",NULL}", "{{1,2},{3,4}}",
          "000102ff",
          "2026-11-25 10:00:00.123", "8f14e45f-ceea-467f-a0e6-8f0a6d1f0a22", "v",
        ]
      ])
    await sink.close()
    await typed.close()
  }

  /// A `{"schema","payload"}` record whose fields `c0`, `c1`… have the schemas given, and
  /// the payload `values` (JSON text, keyed by `id`).
  private func schemaRecord(
    _ topic: String, id: Int, fields: [String], values: [String]
  ) -> Record {
    let named = fields.enumerated().map { i, field in
      String(field.dropLast()) + #","field":"c\#(i)"}"#
    }
    let payload = values.enumerated().map { #""c\#($0)":\#($1)"# }
    return record(
      topic, key: #"{"id":\#(id)}"#,
      value:
        #"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},\#(named.joined(separator: ","))],"optional":false},"payload":{"id":\#(id),\#(payload.joined(separator: ","))}}"#
    )
  }

  func testSchemaColumnsTakeExtensionTypesOnlyWhereTheDatabaseHasThem() async throws {
    let fields = [
      #"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"string","optional":true},"optional":true}"#,
      #"{"type":"string","optional":true,"name":"io.debezium.data.Ltree","version":1}"#,
    ]
    let values = [#"{"a":"1","b \"q\"":null}"#, #""top.science""#]
    let types =
      "SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = 'ext_typed' AND column_name LIKE 'c%' ORDER BY 1"

    // This database has hstore and ltree: the map is an hstore, the Ltree an ltree.
    try reset(["ext_typed"], connector: "pg-ext")
    try database().execute("CREATE EXTENSION IF NOT EXISTS hstore")
    try database().execute("CREATE EXTENSION IF NOT EXISTS ltree")
    let sink = try task("pg-ext", "  table: ext_typed\n  mode: upsert\n  auto_create: true")
    _ = try await sink.open([TopicPartition("ext", 0)])
    try await sink.put([schemaRecord("ext", id: 1, fields: fields, values: values)])
    await sink.close()
    XCTAssertEqual(try rows(types), [["c0", "hstore"], ["c1", "ltree"]])
    XCTAssertEqual(
      try rows("SELECT c0 -> 'a', c0 ? 'b \"q\"', c0 -> 'b \"q\"', c1::text FROM ext_typed"),
      [["1", "t", nil, "top.science"]])

    // A database without them: jsonb and text, the values as they came.
    try database().execute("DROP DATABASE IF EXISTS sluice_sink_plain")
    try database().execute("CREATE DATABASE sluice_sink_plain")
    let plainURL = url.replacingOccurrences(of: "/sluice_test", with: "/sluice_sink_plain")
    let plain = try PostgresConnection(
      url: plainURL, password: nil, applicationName: "sluice-tests")
    let definition = try ConnectorDefinition.parse(
      text:
        "name: pg-plain\nsink: postgres\ntopics: [t]\nconfig:\n  url: \(plainURL)\n  table: ext_typed\n  mode: upsert\n  auto_create: true",
      file: "pg-plain.yaml")
    let plainSink = PostgresSinkTask(
      config: try PostgresSinkConfig(definition: definition), context: TestSinkContext("pg-plain"))
    _ = try await plainSink.open([TopicPartition("ext", 0)])
    try await plainSink.put([schemaRecord("ext", id: 1, fields: fields, values: values)])
    await plainSink.close()
    XCTAssertEqual(try plain.execute(types), [["c0", "jsonb"], ["c1", "text"]])
    XCTAssertEqual(
      try plain.execute("SELECT c0 ->> 'a', c0 -> 'b \"q\"', c1 FROM ext_typed"),
      [["1", "null", "top.science"]])
  }

  func testSchemaColumnsKeepNotNullAndDefaultsAndAddedOnesFillExistingRows() async throws {
    try reset(["defaults_typed"], connector: "pg-defaults")
    let sink = try task(
      "pg-defaults",
      "  table: defaults_typed\n  mode: upsert\n  auto_create: true\n  auto_evolve: true")
    _ = try await sink.open([TopicPartition("defaults", 0)])
    let money =
      #"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}"#
    try await sink.put([
      schemaRecord(
        "defaults", id: 1,
        fields: [
          #"{"type":"int32","optional":false,"default":42}"#,
          #"{"type":"string","optional":true,"default":"it's a \\ b"}"#,
          #"{"type":"int32","optional":false,"name":"io.debezium.time.Date","version":1,"default":20782}"#,
          money,
        ],
        values: ["7", #""x""#, "0", #""BNI=""#])
    ])
    // A later schema adds two NOT NULL fields: the one with a default is NOT NULL and fills
    // the row already there, the one without stays nullable (it could not be added).
    try await sink.put([
      schemaRecord(
        "defaults", id: 2,
        fields: [
          #"{"type":"int32","optional":false,"default":42}"#,
          #"{"type":"string","optional":true,"default":"it's a \\ b"}"#,
          #"{"type":"int32","optional":false,"name":"io.debezium.time.Date","version":1,"default":20782}"#,
          money,
          #"{"type":"boolean","optional":false,"default":true}"#,
          #"{"type":"int64","optional":false}"#,
        ],
        values: ["8", "null", "1", #""/w==""#, "false", "5"])
    ])
    await sink.close()
    XCTAssertEqual(
      try rows(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull::text,
          pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = 'defaults_typed'::regclass AND a.attnum > 0 ORDER BY a.attnum
        """),
      [
        ["id", "integer", "true", nil],
        ["c0", "integer", "true", "42"],
        ["c1", "text", "false", #"'it''s a \ b'::text"#],
        ["c2", "date", "true", "'2026-11-25'::date"],
        ["c3", "numeric(38,2)", "false", nil],
        ["c4", "boolean", "true", "true"],
        ["c5", "bigint", "false", nil],
      ])
    XCTAssertEqual(
      try rows(
        "SELECT id, c0, c1, c2::text, c3::text, c4::text, c5 FROM defaults_typed ORDER BY id"),
      [
        ["1", "7", "x", "1970-01-01", "12.34", "true", nil],
        ["2", "8", nil, "1970-01-02", "-0.01", "false", "5"],
      ])
  }

  func testAPoisonRecordIsReportedAloneAndNothingOfItsBatchIsCommitted() async throws {
    try reset(["counts"], connector: "pg-poison")
    try database().execute("CREATE TABLE counts (id int PRIMARY KEY, n int NOT NULL)")
    let sink = try task("pg-poison", "  table: counts\n  mode: upsert\n  primary_key: [id]")
    _ = try await sink.open([TopicPartition("counts", 0)])
    let batch = [
      record("counts", key: nil, value: #"{"id": 1, "n": 1}"#),
      record("counts", key: nil, value: #"{"id": 2, "n": "not a number"}"#),
      record("counts", key: nil, value: #"{"id": 3, "n": 3}"#),
    ]
    do {
      try await sink.put(batch)
      XCTFail("a record that cannot be applied must be reported")
    } catch let error as SinkRecordError {
      XCTAssertEqual(error.record.offset, batch[1].offset)
      XCTAssertTrue(error.reason.contains("invalid input syntax"), error.reason)
    }
    XCTAssertEqual(try rows("SELECT count(*) FROM counts"), [["0"]])
    // The worker then applies the records around it.
    try await sink.put([batch[0]])
    try await sink.put([batch[2]])
    XCTAssertEqual(try rows("SELECT id FROM counts ORDER BY id"), [["1"], ["3"]])

    // A field without a column (and no auto_evolve) and a value that is not JSON are record errors.
    for bad in [#"{"id": 4, "n": 4, "extra": 1}"#, "not json"] {
      do {
        try await sink.put([record("counts", key: nil, value: bad)])
        XCTFail("\(bad) must be rejected")
      } catch let error as SinkRecordError {
        XCTAssertFalse(error.reason.isEmpty)
      }
    }
    await sink.close()
  }

  func testOffsetsResumeFromTheDatabaseNotTheWorker() async throws {
    try reset(["events_resume"], connector: "pg-resume")
    let sink = try task("pg-resume", "  table: events_resume\n  auto_create: true")
    let tp = TopicPartition("ev", 0)
    let first = try await sink.open([tp])
    XCTAssertEqual(first, [tp: 0], "no row yet: from the start, whatever the worker remembers")
    nextOffset = 40
    try await sink.put([
      record("ev", key: nil, value: #"{"n": 40}"#), record("ev", key: nil, value: #"{"n": 41}"#),
    ])
    await sink.close()
    let again = try task("pg-resume", "  table: events_resume\n  auto_create: true")
    let resumed = try await again.open([tp, TopicPartition("ev", 1)])
    XCTAssertEqual(resumed, [tp: 42, TopicPartition("ev", 1): 0])
    await again.close()
  }

  func testALostConnectionFailsThePutWithoutCommittingAndTheNextPutReconnects() async throws {
    try reset(["reconnect_rows"], connector: "pg-reconnect")
    try database().execute("CREATE TABLE reconnect_rows (n int)")
    let sink = try task("pg-reconnect", "  table: reconnect_rows")
    _ = try await sink.open([TopicPartition("r", 0)])
    try await sink.put([record("r", key: nil, value: #"{"n": 1}"#)])
    // The server ends the sink's session, as a restart or a network cut would.
    try database().execute(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sluice pg-reconnect'"
    )
    let batch = [
      record("r", key: nil, value: #"{"n": 2}"#), record("r", key: nil, value: #"{"n": 3}"#),
    ]
    var failures = 0
    while true {
      do {
        try await sink.put(batch)
        break
      } catch is SinkRecordError {
        XCTFail("a lost connection is not the record's fault")
        break
      } catch {
        failures += 1
        XCTAssertLessThan(failures, 3, "\(error)")
        if failures >= 3 { break }
      }
    }
    XCTAssertEqual(failures, 1, "the first put after the cut fails, the retry reconnects")
    XCTAssertEqual(try rows("SELECT n FROM reconnect_rows ORDER BY n"), [["1"], ["2"], ["3"]])
    await sink.close()
  }

  func testPipelinedPutsCommitEveryBatchOnceAndAFailedOneRewinds() async throws {
    try reset(["piped"], connector: "pg-piped")
    try database().execute("CREATE TABLE piped (n int NOT NULL)")
    let sink = try task("pg-piped", "  table: piped")
    let tp = TopicPartition("p", 0)
    _ = try await sink.open([tp])
    var batches: [[Record]] = []
    for b in 0..<10 {
      batches.append(
        (0..<100).map { i in record("p", key: nil, value: #"{"n": \#(b * 100 + i)}"#) })
    }
    for batch in batches { try await sink.put(batch) }
    await sink.close()
    XCTAssertEqual(try rows("SELECT count(*), count(DISTINCT n) FROM piped"), [["1000", "1000"]])

    // A batch written in the background fails: the next put says so, and the offsets table
    // still points at the failed batch, where the worker resumes.
    let again = try task("pg-piped", "  table: piped")
    _ = try await again.open([tp])
    let good = (0..<3).map { i in [record("p", key: nil, value: #"{"n": \#(2000 + i)}"#)] }
    for batch in good { try await again.put(batch) }  // the synchronous start
    let failing = [
      record("p", key: nil, value: #"{"n": 3000}"#), record("p", key: nil, value: #"{"n": null}"#),
    ]
    try await again.put(failing)  // handed over; fails in the background
    do {
      try await again.put([record("p", key: nil, value: #"{"n": 4000}"#)])
      XCTFail("the failed batch must be reported")
    } catch is SinkRewind {}
    let resumed = try await again.open([tp])
    XCTAssertEqual(resumed[tp], failing[0].offset)
    do {
      try await again.put(failing)
      XCTFail("the null must be reported against its record")
    } catch let error as SinkRecordError {
      XCTAssertEqual(error.record.offset, failing[1].offset)
    }
    await again.close()
    XCTAssertEqual(try rows("SELECT count(*) FROM piped"), [["1003"]])
  }

  func testUpsertTriesAPlainCopyAndMergesWhenAKeyExists() async throws {
    try reset(["prices"], connector: "pg-prices")
    try database().execute("CREATE TABLE prices (sku text PRIMARY KEY, cents int)")
    try database().execute("INSERT INTO prices VALUES ('old', 1)")
    let sink = try task("pg-prices", "  table: prices\n  mode: upsert\n  primary_key: [sku]")
    _ = try await sink.open([TopicPartition("prices", 0)])
    // New keys only: the COPY goes through. Then an existing key: the COPY conflicts, the
    // savepoint is rolled back, and the merge updates it, with the new key in the same batch.
    try await sink.put([record("prices", key: nil, value: #"{"sku": "a", "cents": 10}"#)])
    try await sink.put([
      record("prices", key: nil, value: #"{"sku": "old", "cents": 2}"#),
      record("prices", key: nil, value: #"{"sku": "b", "cents": 20}"#),
    ])
    try await sink.put([record("prices", key: nil, value: #"{"sku": "a", "cents": 11}"#)])
    await sink.close()
    XCTAssertEqual(
      try rows("SELECT sku, cents FROM prices ORDER BY sku"),
      [["a", "11"], ["b", "20"], ["old", "2"]])
  }

  func testAFlatRecordWithAnOpFieldIsNotMistakenForAChangeEvent() async throws {
    try reset(["ops"], connector: "pg-ops")
    let sink = try task("pg-ops", "  table: ops\n  auto_create: true")
    _ = try await sink.open([TopicPartition("ops", 0)])
    try await sink.put([record("ops", key: nil, value: #"{"id": 1, "op": "c", "payload": 2}"#)])
    await sink.close()
    XCTAssertEqual(try rows("SELECT id, op, payload FROM ops"), [["1", "c", "2"]])
  }

  func testColumnsMapFieldsToColumnsAndLeaveTheRestOut() async throws {
    try reset(["mapped"], connector: "pg-mapped")
    try database().execute("CREATE TABLE mapped (order_id int PRIMARY KEY, amount numeric)")
    let sink = try task(
      "pg-mapped",
      "  table: mapped\n  mode: upsert\n  primary_key: [order_id]\n  columns: { order_id: id, amount: total }"
    )
    _ = try await sink.open([TopicPartition("orders", 0)])
    try await sink.put([
      record("orders", key: nil, value: #"{"id": 7, "total": "12.50", "internal": "not a column"}"#)
    ])
    await sink.close()
    XCTAssertEqual(try rows("SELECT order_id, amount FROM mapped"), [["7", "12.50"]])
  }
}

/// The runtime's side of a sink task, for driving one task without a worker.
struct TestSinkContext: SinkTaskContext {
  let connectorName: String
  var taskIndex: Int { 0 }
  var logger: Logger { Logger(label: "test.\(connectorName)") }
  init(_ name: String) { connectorName = name }
  func setDetail(_ name: String, _ value: String?) {}
}
