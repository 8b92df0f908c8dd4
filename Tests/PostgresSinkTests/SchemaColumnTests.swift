import SluiceCore
import XCTest

@testable import PostgresSinkConnector

/// Columns from the JSON converter's schema, as Debezium's JDBC sink (PostgreSQL dialect)
/// makes them, without a server.
final class SchemaColumnTests: XCTestCase {
  func testDebeziumStructuredTypesGetTheirPostgresTypes() {
    let columns = SchemaColumn.columns(
      of: schema(
        #"{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","parameters":{"length":"5"}}"#,
        #"{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","parameters":{"length":"2147483647"}}"#,
        #"{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":false,"field":"y"},{"type":"bytes","optional":true,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}],"optional":true,"name":"io.debezium.data.geometry.Point","version":1}"#,
        #"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"string","optional":true},"optional":true}"#,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Ltree","version":1}"#,
        #"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}"#,
        #"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":true},"optional":true}"#
      ), available: ["hstore", "ltree"])
    XCTAssertEqual(columns["c0"]?.type, "bit(5)")
    XCTAssertEqual(columns["c0"]?.encoding, .bits(length: 5, varying: false))
    XCTAssertEqual(columns["c1"]?.type, "bit varying")
    XCTAssertEqual(columns["c1"]?.encoding, .bits(length: nil, varying: true))
    XCTAssertEqual(columns["c2"]?.type, "point")
    XCTAssertEqual(columns["c3"]?.type, "hstore")
    XCTAssertEqual(columns["c3"]?.encoding, .hstore)
    XCTAssertEqual(columns["c4"]?.type, "ltree")
    // A Decimal without a precision (money's) keeps its scale, so its bytes read right.
    XCTAssertEqual(columns["c5"]?.type, "numeric(38,2)")
    XCTAssertEqual(columns["c5"]?.encoding, .numeric(scale: 2))
    // hstore holds strings only.
    XCTAssertEqual(columns["c6"]?.type, "jsonb")
  }

  func testExtensionTypesTheDatabaseLacksFallBack() {
    let columns = SchemaColumn.columns(
      of: schema(
        #"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"string","optional":true},"optional":true}"#,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Ltree","version":1}"#,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1}"#
      ), available: [])
    XCTAssertEqual(columns["c0"]?.type, "jsonb")
    XCTAssertEqual(columns["c0"]?.encoding, .json)
    XCTAssertEqual(columns["c1"]?.type, "text")
    XCTAssertEqual(columns["c2"]?.type, "jsonb")
  }

  func testArraysTakeTheirElementsTypeAndEncoding() {
    let columns = SchemaColumn.columns(
      of: schema(
        #"{"type":"array","items":{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"8"}},"optional":true}"#,
        #"{"type":"array","items":{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1},"optional":true}"#,
        #"{"type":"array","items":{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1},"optional":true}"#,
        #"{"type":"array","items":{"type":"struct","fields":[],"optional":true,"name":"io.debezium.data.geometry.Point"},"optional":true}"#,
        #"{"type":"array","items":{"type":"struct","fields":[],"optional":true},"optional":true}"#
      ), available: [])
    XCTAssertEqual(columns["c0"]?.type, "numeric(8,2)[]")
    XCTAssertEqual(columns["c0"]?.encoding, .array(of: .numeric(scale: 2)))
    XCTAssertEqual(columns["c1"]?.type, "date[]")
    XCTAssertEqual(columns["c1"]?.encoding, .array(of: .date))
    XCTAssertEqual(columns["c2"]?.type, "timestamp[]")
    XCTAssertEqual(columns["c2"]?.encoding, .array(of: .timestamp(millis: false)))
    XCTAssertEqual(columns["c3"]?.type, "point[]")
    XCTAssertEqual(columns["c4"]?.type, "jsonb")
  }

  func testNotNullAndDefaultsComeFromTheSchema() {
    let columns = SchemaColumn.columns(
      of: schema(
        #"{"type":"int32","optional":false,"default":42}"#,
        #"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"3","connect.decimal.precision":"12"},"default":"BdwnWA=="}"#,
        #"{"type":"string","optional":false,"default":"it's a \\ b"}"#,
        #"{"type":"int32","optional":false,"name":"io.debezium.time.Date","version":1}"#,
        #"{"type":"int32"}"#
      ), available: [])
    XCTAssertEqual(
      columns["c0"]?.definition("c0", notNull: true), #""c0" integer DEFAULT '42' NOT NULL"#)
    XCTAssertEqual(columns["c1"]?.defaultLiteral, "'98314.072'")
    XCTAssertEqual(
      columns["c1"]?.definition("c1", notNull: true), #""c1" numeric(12,3) DEFAULT '98314.072'"#)
    XCTAssertEqual(columns["c2"]?.defaultLiteral, #"E'it''s a \\ b'"#)
    XCTAssertEqual(columns["c3"]?.definition("c3", notNull: true), #""c3" date NOT NULL"#)
    // A column added to a table that has rows is NOT NULL only with a default to fill them.
    XCTAssertEqual(columns["c3"]?.definition("c3", notNull: false), #""c3" date"#)
    XCTAssertEqual(
      columns["c0"]?.definition("c0", notNull: false), #""c0" integer DEFAULT '42' NOT NULL"#)
    // `optional` left out does not make a column NOT NULL.
    XCTAssertEqual(columns["c4"]?.definition("c4", notNull: true), #""c4" integer"#)
  }

  func testTheRowOfAnEnvelopeIsItsAfterStruct() {
    let envelope =
      #"{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int16","optional":false,"field":"id"}],"optional":true,"field":"before"},{"type":"struct","fields":[{"type":"int16","optional":false,"field":"id"}],"optional":true,"field":"after"},{"type":"string","optional":false,"field":"op"}],"optional":false}"#
    let bytes = Array(envelope.utf8)
    let columns = SchemaColumn.columns(
      of: FieldValue(column: "schema", bytes: bytes, range: 0..<bytes.count, kind: .object),
      available: [])
    XCTAssertEqual(Array(columns.keys), ["id"])
    XCTAssertEqual(columns["id"]?.type, "smallint")
  }

  // MARK: - Fixtures

  /// A value struct schema whose fields `c0`, `c1`… have the schemas given.
  private func schema(_ fields: String...) -> FieldValue {
    let named = fields.enumerated().map { i, field in
      String(field.dropLast()) + #","field":"c\#(i)"}"#
    }
    let text = #"{"type":"struct","fields":[\#(named.joined(separator: ","))],"optional":false}"#
    let bytes = Array(text.utf8)
    return FieldValue(column: "schema", bytes: bytes, range: 0..<bytes.count, kind: .object)
  }
}
