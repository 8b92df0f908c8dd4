import Foundation
import XCTest

/// The Debezium JDBC sink's expectation of `schemas: true` (issue 16): a table of common column
/// types, captured with the JSON converter's schemas, written by Sluice's PostgreSQL sink with
/// `auto_create` into another table, comes out equal — rows and, where the schema says it,
/// column types, NOT NULL and defaults — after a snapshot read, a streamed insert and an
/// update.
final class PostgresSchemasRoundTripTests: CDCWorkerTestCase {
  /// Columns whose type the schema carries exactly: name, type (with NOT NULL and default),
  /// row 1 (snapshot, then updated), row 2 (streamed insert, edge values and NULLs).
  static let columns: [(String, String, String, String)] = [
    ("c_smallint", "smallint", "7", "-32768"),
    ("c_integer", "integer", "123456", "NULL"),
    ("c_bigint", "bigint", "9007199254740993", "-9223372036854775808"),
    ("c_numeric", "numeric(12,3)", "12345.678", "-0.001"),
    ("c_numeric_var", "numeric", "3.14159265358979", "-2.5e-7"),
    ("c_real", "real", "1.5", "'-Infinity'"),
    ("c_double", "double precision", "2.718281828", "NULL"),
    ("c_bool", "boolean", "true", "false"),
    ("c_text", "text", "E'h\\u00e9llo \"world\"\\n'", "''"),
    ("c_bytea", "bytea", "'\\x0001ff'", "'\\x'"),
    ("c_uuid", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "NULL"),
    ("c_jsonb", "jsonb", "'{\"a\": 1, \"b\": [1, 2]}'", "'\"str\"'"),
    ("c_date", "date", "'2024-02-29'", "'1969-12-31'"),
    ("c_time", "time without time zone", "'13:45:30.123456'", "'00:00:00'"),
    ("c_time3", "time(3) without time zone", "'13:45:30.123'", "NULL"),
    (
      "c_timestamp", "timestamp without time zone", "'2024-02-29 13:45:30.123456'",
      "'1969-07-20 20:17:40'"
    ),
    ("c_ts3", "timestamp(3) without time zone", "'2024-02-29 13:45:30.5'", "NULL"),
    (
      "c_timestamptz", "timestamp with time zone", "'2024-02-29 13:45:30.123456+02'",
      "'2001-09-09 01:46:40.5+00'"
    ),
    ("c_interval", "interval", "'1 year 2 mons 3 days 04:05:06.789'", "'-1 day -00:00:01'"),
    ("c_int_array", "integer[]", "'{1,2,3}'", "'{}'"),
    ("c_text_array", "text[]", "'{\"a\",\"b c\"}'", "NULL"),
    ("c_xml", "xml", "'<a>1</a>'", "NULL"),
    // Debezium's Bits (little-endian bytes), Point, hstore as a map, Ltree.
    ("c_bit", "bit(5) NOT NULL", "B'10110'", "B'00001'"),
    ("c_bit16", "bit(16)", "B'0000000100000010'", "NULL"),
    ("c_varbit", "bit varying", "B'1011'", "B'0'"),
    ("c_point", "point", "'(1.5,-2.25)'", "'(0,0)'"),
    ("c_hstore", "hstore", #"'"a"=>"1", "b c"=>NULL, "q\"x"=>"y"'"#, "''"),
    ("c_ltree", "ltree", "'top.science.astronomy'", "NULL"),
    // Arrays whose elements are Debezium-encoded.
    ("c_numeric_array", "numeric(8,2)[]", "'{1.50,-2.25}'", "'{}'"),
    ("c_numvar_array", "numeric[]", "'{3.14159,-2.5e-7,NULL}'", "NULL"),
    ("c_date_array", "date[]", "'{2024-02-29,1969-12-31}'", "NULL"),
    ("c_time_array", "time(3) without time zone[]", "'{13:45:30.123}'", "NULL"),
    ("c_ts_array", "timestamp without time zone[]", #"'{"2024-02-29 13:45:30.123456"}'"#, "NULL"),
    ("c_interval_array", "interval[]", #"'{"1 day 02:00:00"}'"#, "NULL"),
    ("c_bytea_array", "bytea[]", #"'{"\\x0001ff"}'"#, "NULL"),
    ("c_point_array", "point[]", #"'{"(1,2)"}'"#, "NULL"),
    ("c_bit_array", "bit(3)[]", "'{101,011}'", "NULL"),
    // NOT NULL and constant defaults, which the schema carries. (A NULL in a column with a
    // default is the default in the event: Kafka's JSON converter's replace.null.with.default.)
    ("c_nn_int", "integer NOT NULL DEFAULT 42", "1", "2"),
    ("c_def_text", "text DEFAULT 'it''s'", "'a'", "''"),
    ("c_def_numeric", "numeric(6,2) DEFAULT 1.50", "2.00", "-3.25"),
    ("c_def_date", "date NOT NULL DEFAULT '2000-01-01'", "'2024-01-01'", "'1999-12-31'"),
    ("c_def_bool", "boolean DEFAULT false", "true", "false"),
  ]

  func testSchemasOutputIsAcceptedByThePostgresSinkAndReproducesTheTable() throws {
    let started = Date()
    let names = Self.columns.map(\.0)
    try cdcPSQL(
      url,
      """
      CREATE EXTENSION IF NOT EXISTS hstore;
      CREATE EXTENSION IF NOT EXISTS ltree;
      DROP TABLE IF EXISTS schema_src, schema_dst;
      CREATE TABLE schema_src (id integer PRIMARY KEY,
        \(Self.columns.map { "\($0.0) \($0.1)" }.joined(separator: ", ")));
      SET TimeZone = 'UTC';
      INSERT INTO schema_src VALUES (1, \(Self.columns.map(\.2).joined(separator: ", ")));
      """)
    slotsToDrop.append("schema_rt")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "schema-rt",
      connectorYAML(
        "schema-rt", tables: "[public.schema_src]", topic: "rt.{schema}.{table}",
        // ISO intervals: Debezium's numeric interval counts a month as 30.4375 days. hstore
        // as a map: as JSON text it is Debezium's Json, a jsonb column.
        extra: "  schemas: true\n  interval_handling: string\n  hstore_handling: map"))
    try worker.writeConnector(
      "schema-rt-sink",
      """
      name: schema-rt-sink
      sink: postgres
      topics: [rt.public.schema_src]
      config: { url: "\(url)", table: schema_dst, mode: upsert, primary_key: [id], auto_create: true }
      """)
    try worker.start()
    defer { _ = worker.terminate() }
    try waitForStreaming(worker, "schema-rt")
    try cdcPSQL(
      url,
      """
      SET TimeZone = 'UTC';
      INSERT INTO schema_src VALUES (2, \(Self.columns.map(\.3).joined(separator: ", ")));
      UPDATE schema_src SET c_integer = 654321, c_text = 'updated', c_date = '1900-06-15'
        WHERE id = 1;
      """)
    let select =
      "SET TimeZone = 'UTC'; SELECT id, \(names.joined(separator: ", ")) FROM %@ ORDER BY id"
    let source = try cdcPSQL(url, select.replacingOccurrences(of: "%@", with: "schema_src"))
    XCTAssertTrue(source.contains("updated"))
    var copy = ""
    do {
      try waitUntil("the sink's copy equal to the source", timeout: 60) {
        copy = try cdcPSQL(self.url, select.replacingOccurrences(of: "%@", with: "schema_dst"))
        return copy == source
      }
    } catch {
      XCTFail(
        "source:\n\(source)\nsink's copy:\n\(copy)\nworker log:\n\(worker.log().suffix(4000))")
      throw error
    }
    // What the topic holds: the converter's form, with Debezium's schema names.
    let first = try worker.records("rt.public.schema_src").first
    let key = first?["key"] as? [String: Any]
    XCTAssertEqual(
      (key?["schema"] as? [String: Any])?["name"] as? String, "rt.public.schema_src.Key")
    let schema = (first?["value"] as? [String: Any])?["schema"] as? [String: Any]
    XCTAssertEqual(schema?["name"] as? String, "rt.public.schema_src.Envelope")

    // Types, NOT NULL and defaults.
    let types = """
      SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
        || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = '%@'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname
      """
    XCTAssertEqual(
      try cdcPSQL(url, types.replacingOccurrences(of: "%@", with: "schema_dst")),
      try cdcPSQL(url, types.replacingOccurrences(of: "%@", with: "schema_src")))
    XCTAssertEqual(
      try cdcPSQL(
        url,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'schema_dst'::regclass AND i.indisprimary"
      ), "id")
    print(String(format: "schemas round trip: %.1f s", Date().timeIntervalSince(started)))
    try cdcPSQL(url, "DROP TABLE schema_src, schema_dst")
  }
}
