import Foundation
import SluiceCore
import SluicePostgres
import XCTest

@testable import PostgresCDCConnector

/// Keys in Debezium's encodings (days, epoch ms/µs, Connect Decimals, base64 or hex bytes) are
/// turned back into their column's type in SQL, so a snapshot resumes after a key and the
/// replay filter compares keys in PostgreSQL's order whatever the conversion options; and the
/// catalog lookup resolves domains, enums and hstore. Against the real PostgreSQL of
/// `make test`.
final class KeyOrderTests: XCTestCase {
  var url: String {
    ProcessInfo.processInfo.environment["SLUICE_TEST_PG_URL"]
      ?? "postgresql://sluice:sluice@127.0.0.1:5432/sluice_test"
  }

  func connection() throws -> PostgresConnection {
    try PostgresConnection.changeCapture(url: url, password: nil, applicationName: "sluice-tests")
  }

  /// `{"k": <value as ValueConverter writes it>}`
  func key(_ text: String, _ kind: ColumnKind, _ options: ValueConversionOptions) -> String {
    var out = JSONWriter()
    out.raw("{\"k\":")
    ValueConverter.write(Array(text.utf8), as: kind, options: options, to: &out)
    out.byte("}")
    return String(decoding: out.bytes, as: UTF8.self)
  }

  func testKeysInEveryEncodingCompareAsTheirColumnType() throws {
    let db = try connection()
    let precise = ValueConversionOptions.debezium
    var strings = ValueConversionOptions.debezium
    strings.decimal = .string
    strings.time = .isostring
    strings.interval = .string
    var hex = ValueConversionOptions.debezium
    hex.binary = .hex
    hex.time = .adaptiveTimeMicroseconds
    var urlSafe = ValueConversionOptions.debezium
    urlSafe.binary = .base64UrlSafe
    let cases: [(type: String, low: String, high: String)] = [
      ("date", "1969-12-31", "2026-11-25"),
      ("time(3)", "10:00:00.5", "10:00:00.501"),
      ("time", "10:00:00.000001", "10:00:00.000002"),
      ("timestamp(3)", "1969-12-31 23:59:59.999", "2026-11-25 10:00:00.5"),
      ("timestamp", "2026-11-25 10:00:00.000001", "2026-11-25 10:00:00.000002"),
      ("timestamptz", "2026-11-25 10:00:00+00", "2026-11-25 10:00:00.5+00"),
      ("numeric(10,2)", "-1.29", "1234.56"),
      ("numeric", "-12345678901234567890.5", "1.50"),
      ("money", "-$1.00", "$1,234.56"),
      ("interval", "PT1S", "PT1.5S"),
      ("bytea", "\\x00ff", "\\xfbff"),
      ("uuid", "a1b2c3d4-0000-4000-8000-000000000001", "a1b2c3d4-0000-4000-8000-000000000002"),
      ("text", "a b", "a c"),
    ]
    for (n, c) in cases.enumerated() {
      let table = "key_order_\(n)"
      try db.execute("DROP TABLE IF EXISTS \(table)")
      try db.execute("CREATE TABLE \(table) (k \(c.type) PRIMARY KEY)")
      let row = try db.execute(
        "SELECT atttypid::text, atttypmod::text FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'k'",
        [table]
      ).first
      let kind = ColumnKind.of(
        UInt32(row?[0] ?? "") ?? 0, modifier: Int32(row?[1] ?? "") ?? -1)
      for options in [precise, strings, hex, urlSafe] {
        let order = KeyOrder(
          table: QualifiedName(schema: "public", table: table), columns: [("k", kind)],
          options: options)
        let low = key(c.low, kind, options)
        let high = key(c.high, kind, options)
        let what = "\(c.type) \(low) \(high)"
        XCTAssertTrue(try order.isKey(low, atOrBefore: high, on: db), what)
        XCTAssertFalse(try order.isKey(high, atOrBefore: low, on: db), what)
        XCTAssertTrue(try order.isKey(high, atOrBefore: high, on: db), "exact: \(what)")
        // With `schemas: true` the key is the payload of {"schema", "payload"}.
        let schema = #"{"schema":{"type":"struct","fields":[],"optional":false},"payload":"#
        XCTAssertTrue(
          try order.isKey(schema + low + "}", atOrBefore: schema + high + "}", on: db), what)
        XCTAssertFalse(try order.isKey(schema + high + "}", atOrBefore: low, on: db), what)
      }
      try db.execute("DROP TABLE \(table)")
    }
  }

  func testTheCatalogResolvesDomainsEnumsAndArraysOfThem() throws {
    let db = try connection()
    try db.execute("DROP TABLE IF EXISTS user_types_t")
    try db.execute("DROP DOMAIN IF EXISTS ut_day2, ut_day, ut_amount")
    try db.execute("DROP TYPE IF EXISTS ut_mood")
    try db.execute("CREATE TYPE ut_mood AS ENUM ('sad', 'happy')")
    try db.execute("CREATE DOMAIN ut_day AS date")
    try db.execute("CREATE DOMAIN ut_day2 AS ut_day")
    try db.execute("CREATE DOMAIN ut_amount AS numeric(10,2)")
    try db.execute(
      "CREATE TABLE user_types_t (m ut_mood, ms ut_mood[], d ut_day2, a ut_amount)")
    let columns = try db.execute(
      "SELECT atttypid::text, atttypmod::text FROM pg_attribute WHERE attrelid = 'user_types_t'::regclass AND attnum > 0 ORDER BY attnum"
    ).map { (UInt32($0[0] ?? "") ?? 0, Int32($0[1] ?? "") ?? -1) }
    let types = try ControlConnection.userTypes(
      columns.map(\.0).filter(ColumnKind.needsCatalog), on: db)
    let kinds = columns.map { ColumnKind.of($0.0, modifier: $0.1, userTypes: types) }
    XCTAssertEqual(kinds, [.text, .array(of: .text), .date, .numeric(scale: 2)])
    // An enum's labels, in their order, for Debezium's io.debezium.data.Enum schema.
    XCTAssertEqual(types[columns[0].0], .enumeration(labels: ["sad", "happy"]))
    XCTAssertEqual(
      DebeziumSchemas.column(columns[1].0, userTypes: types).json,
      #"{"type":"array","items":{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"sad,happy"}},"optional":true}"#
    )
    try db.execute("DROP TABLE user_types_t")
  }

  func testTheCatalogGivesNotNullAndConstantDefaultsForSchemas() throws {
    let db = try connection()
    try db.execute("DROP TABLE IF EXISTS facts_t")
    try db.execute(
      "CREATE TABLE facts_t (id serial PRIMARY KEY, n integer NOT NULL DEFAULT -1, t text DEFAULT 'it''s', d date DEFAULT '2024-01-01', at timestamptz DEFAULT now(), plain numeric)"
    )
    let oid = try db.execute("SELECT 'facts_t'::regclass::oid::text").first?[0].flatMap {
      UInt32($0)
    }
    let facts = try ControlConnection.columnFacts(of: oid ?? 0, on: db)
    XCTAssertEqual(
      facts.columns,
      [
        "id": .init(notNull: true, defaultLiteral: nil),
        "n": .init(notNull: true, defaultLiteral: "-1"),
        "t": .init(notNull: false, defaultLiteral: "it's"),
        "d": .init(notNull: false, defaultLiteral: "2024-01-01"),
        "at": .init(notNull: false, defaultLiteral: nil),
        "plain": .init(notNull: false, defaultLiteral: nil),
      ])
    try db.execute("DROP TABLE facts_t")
  }
}
