import Foundation
import SluiceCore
import SluicePostgres
import XCTest

@testable import PostgresCDCConnector

/// The text forms a real PostgreSQL sends under the CDC sessions' settings (ISO dates, UTC,
/// iso_8601 intervals), read back as the snapshot reads them — by the column's type OID and
/// modifier, user types through the catalog — and written as Debezium writes them.
final class PostgresTextFormsTests: XCTestCase {
  var url: String {
    ProcessInfo.processInfo.environment["SLUICE_TEST_PG_URL"]
      ?? "postgresql://sluice:sluice@127.0.0.1:5432/sluice_test"
  }

  /// Each column of `SELECT <expressions> FROM text_forms` as JSON under `options`.
  func converted(
    _ columns: [(type: String, value: String)], _ options: ValueConversionOptions = .debezium
  ) throws -> [String] {
    let db = try PostgresConnection.changeCapture(
      url: url, password: nil, applicationName: "sluice-tests")
    try db.execute("DROP TABLE IF EXISTS text_forms")
    try db.execute(
      "CREATE TABLE text_forms ("
        + columns.enumerated().map { "c\($0.offset) \($0.element.type)" }.joined(separator: ", ")
        + ")")
    try db.execute(
      "INSERT INTO text_forms VALUES ("
        + columns.map { "\($0.value)" }.joined(separator: ", ") + ")")
    let types = try db.execute(
      "SELECT atttypid::text, atttypmod::text FROM pg_attribute WHERE attrelid = 'text_forms'::regclass AND attnum > 0 ORDER BY attnum"
    ).map { (UInt32($0[0] ?? "") ?? 0, Int32($0[1] ?? "") ?? -1) }
    let userTypes = try ControlConnection.userTypes(
      types.map(\.0).filter(ColumnKind.needsCatalog), on: db)
    let row = try XCTUnwrap(try db.execute("SELECT * FROM text_forms").first)
    return zip(types, row).map { type, text in
      var out = JSONWriter()
      let kind = ColumnKind.of(type.0, modifier: type.1, userTypes: userTypes)
      if let text {
        ValueConverter.write(Array(text.utf8), as: kind, options: options, to: &out)
      } else {
        out.null()
      }
      return String(decoding: out.bytes, as: UTF8.self)
    }
  }

  func testBuiltInTypesAsDebeziumWritesThemByDefault() throws {
    let columns: [(type: String, value: String)] = [
      ("numeric(10,2)", "1234.56"), ("numeric", "1.50"), ("money", "-1234.56"),
      ("date", "'2026-11-25'"), ("time(3)", "'10:00:00.5'"), ("time", "'10:00:00.5'"),
      ("timetz", "'10:00:00+05:30'"), ("timestamp(3)", "'2026-11-25 10:00:00.5'"),
      ("timestamptz", "'2026-11-25 10:00:00.5+02'"), ("timestamptz", "'infinity'"),
      ("interval", "'1 year 2 months 3 days 04:05:06.5'"), ("bytea", "'\\x00ff10'"),
      ("bit(1)", "B'1'"), ("bit(10)", "B'1000000001'"), ("varbit", "B'1111111111'"),
      ("point", "'(1,2)'"), ("real", "'NaN'"), ("double precision", "'-Infinity'"),
      ("char(4)", "'ab'"), ("date[]", "'{2026-11-25,NULL}'"), ("inet", "'10.1.2.3'"),
      ("jsonb", #"'{"a": 1}'"#),
    ]
    XCTAssertEqual(
      try converted(columns),
      [
        #""AeJA""#, #"{"scale":2,"value":"AJY="}"#, #""/h3A""#, "20782", "36000500",
        "36000500000", #""04:30:00Z""#, "1795600800500", #""2026-11-25T08:00:00.500000Z""#,
        #""infinity""#, "37091106500000", #""AP8Q""#, "true", #""AQI=""#, #""/wM=""#,
        #"{"x":1.0,"y":2.0,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}"#, #""NaN""#,
        #""-Infinity""#, #""ab  ""#, "[20782,null]", #""10.1.2.3""#, #""{\"a\": 1}""#,
      ])
  }

  func testOtherModes() throws {
    var options = ValueConversionOptions.debezium
    options.decimal = .string
    options.time = .isostring
    options.interval = .string
    options.binary = .hex
    XCTAssertEqual(
      try converted(
        [
          ("numeric(10,2)", "1234.56"), ("money", "-1234.56"), ("date", "'2026-11-25'"),
          ("time", "'10:00:00.5'"), ("timestamp", "'2026-11-25 10:00:00.5'"),
          ("interval", "'-1 year -2 months 3 days -04:05:06.5'"), ("bytea", "'\\x00ff10'"),
        ], options),
      [
        #""1234.56""#, #""-1234.56""#, #""2026-11-25Z""#, #""10:00:00.5Z""#,
        #""2026-11-25T10:00:00.5Z""#, #""P-1Y-2M3DT-4H-5M-6.5S""#, #""00ff10""#,
      ])
  }

  func testDomainsEnumsHstoreAndLtreeFromTheCatalog() throws {
    let db = try PostgresConnection.changeCapture(
      url: url, password: nil, applicationName: "sluice-tests")
    try db.execute("CREATE EXTENSION IF NOT EXISTS hstore")
    try db.execute("CREATE EXTENSION IF NOT EXISTS ltree")
    try db.execute("DROP TABLE IF EXISTS text_forms")
    try db.execute("DROP DOMAIN IF EXISTS tf_amount")
    try db.execute("DROP TYPE IF EXISTS tf_mood")
    try db.execute("CREATE DOMAIN tf_amount AS numeric(10,2)")
    try db.execute("CREATE TYPE tf_mood AS ENUM ('sad', 'happy')")
    var map = ValueConversionOptions.debezium
    map.hstore = .map
    let columns: [(type: String, value: String)] = [
      ("tf_amount", "1234.56"), ("tf_mood", "'happy'"), ("tf_mood[]", "'{sad,happy}'"),
      ("hstore", #"'a=>1, b=>NULL'"#), ("ltree", "'a.b.c'"),
    ]
    XCTAssertEqual(
      try converted(columns),
      [
        #""AeJA""#, #""happy""#, #"["sad","happy"]"#, #""{\"a\":\"1\",\"b\":null}""#,
        #""a.b.c""#,
      ])
    XCTAssertEqual(try converted(columns, map)[3], #"{"a":"1","b":null}"#)
  }
}
