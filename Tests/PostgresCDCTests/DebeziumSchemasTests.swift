import Foundation
import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// `schemas: true`: the Kafka Connect schemas of Debezium's events, compared with what the real
/// Debezium 3.6 wrote for the same columns and options (captured from its JsonConverter with
/// schemas.enable=true; Tests/Debezium compares whole events against it).
final class DebeziumSchemasTests: XCTestCase {
  struct Case {
    var column: String
    var oid: UInt32
    var modifier: Int32
    var options: ValueConversionOptions
    var expected: String
    var user: UserType?

    init(
      _ column: String, _ oid: UInt32, _ modifier: Int32, _ options: ValueConversionOptions,
      _ expected: String, user: UserType? = nil
    ) {
      (self.column, self.oid, self.modifier, self.options, self.expected, self.user) = (
        column, oid, modifier, options, expected, user
      )
    }
  }

  static let strings = ValueConversionOptions(
    decimal: .string, time: .isostring, interval: .string)
  static let doubleConnect = ValueConversionOptions(
    decimal: .double, time: .connect, binary: .base64, hstore: .map)
  static let microsHex = ValueConversionOptions(time: .adaptiveTimeMicroseconds, binary: .hex)
  var strings: ValueConversionOptions { Self.strings }
  var doubleConnect: ValueConversionOptions { Self.doubleConnect }
  var microsHex: ValueConversionOptions { Self.microsHex }

  /// Debezium's schema of each column of Tests/Debezium/fixture.py's table (and a few more:
  /// timestamp(3), time(3), arrays of numeric(5,2) and date, numeric(5,0), char, real[], oid,
  /// name) under Debezium's defaults and the option sets that change it.
  var cases: [Case] {
    [
      Case("c_smallint", 21, -1, .debezium, #"{"type":"int16","optional":true}"#),
      Case("c_integer", 23, -1, .debezium, #"{"type":"int32","optional":true}"#),
      Case("c_bigint", 20, -1, .debezium, #"{"type":"int64","optional":true}"#),
      Case(
        "c_numeric", 1700, 786439, .debezium,
        #"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"3","connect.decimal.precision":"12"}}"#
      ),
      Case("c_numeric", 1700, 786439, strings, #"{"type":"string","optional":true}"#),
      Case("c_numeric", 1700, 786439, doubleConnect, #"{"type":"double","optional":true}"#),
      Case(
        "c_numeric_var", 1700, -1, .debezium,
        #"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"scale"},{"type":"bytes","optional":false,"field":"value"}],"optional":true,"name":"io.debezium.data.VariableScaleDecimal","version":1,"doc":"Variable scaled decimal"}"#
      ),
      Case("c_numeric_var", 1700, -1, strings, #"{"type":"string","optional":true}"#),
      Case("c_numeric_var", 1700, -1, doubleConnect, #"{"type":"double","optional":true}"#),
      Case(
        "c_money", 790, -1, .debezium,
        #"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}"#
      ),
      Case("c_money", 790, -1, strings, #"{"type":"string","optional":true}"#),
      Case("c_money", 790, -1, doubleConnect, #"{"type":"double","optional":true}"#),
      Case("c_real", 700, -1, .debezium, #"{"type":"float","optional":true}"#),
      Case("c_double", 701, -1, .debezium, #"{"type":"double","optional":true}"#),
      Case("c_bool", 16, -1, .debezium, #"{"type":"boolean","optional":true}"#),
      Case("c_text", 25, -1, .debezium, #"{"type":"string","optional":true}"#),
      Case("c_varchar", 1043, 24, .debezium, #"{"type":"string","optional":true}"#),
      Case("c_char", 1042, 9, .debezium, #"{"type":"string","optional":true}"#),
      Case("c_bytea", 17, -1, .debezium, #"{"type":"bytes","optional":true}"#),
      Case("c_bytea", 17, -1, doubleConnect, #"{"type":"string","optional":true}"#),
      Case("c_bytea", 17, -1, microsHex, #"{"type":"string","optional":true}"#),
      Case(
        "c_uuid", 2950, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Uuid","version":1}"#),
      Case(
        "c_json", 114, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1}"#),
      Case(
        "c_jsonb", 3802, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1}"#),
      Case(
        "c_xml", 142, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Xml","version":1}"#),
      Case(
        "c_date", 1082, -1, .debezium,
        #"{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1}"#),
      Case(
        "c_date", 1082, -1, strings,
        #"{"type":"string","optional":true,"name":"io.debezium.time.IsoDate","version":1}"#),
      Case(
        "c_date", 1082, -1, doubleConnect,
        #"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1}"#
      ),
      Case(
        "c_time", 1083, -1, .debezium,
        #"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1}"#),
      Case(
        "c_time", 1083, -1, strings,
        #"{"type":"string","optional":true,"name":"io.debezium.time.IsoTime","version":1}"#),
      Case(
        "c_time", 1083, -1, doubleConnect,
        #"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1}"#
      ),
      Case(
        "c_timetz", 1266, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTime","version":1}"#),
      Case(
        "c_timestamp", 1114, -1, .debezium,
        #"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1}"#),
      Case(
        "c_timestamp", 1114, -1, strings,
        #"{"type":"string","optional":true,"name":"io.debezium.time.IsoTimestamp","version":1}"#),
      Case(
        "c_timestamp", 1114, -1, doubleConnect,
        #"{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1}"#
      ),
      Case(
        "c_timestamptz", 1184, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1}"#),
      Case(
        "c_interval", 1186, -1, .debezium,
        #"{"type":"int64","optional":true,"name":"io.debezium.time.MicroDuration","version":1}"#),
      Case(
        "c_interval", 1186, -1, strings,
        #"{"type":"string","optional":true,"name":"io.debezium.time.Interval","version":1}"#),
      Case(
        "c_enum", 16754, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"sad,ok,happy"}}"#,
        user: .enumeration(labels: ["sad", "ok", "happy"])),
      Case(
        "c_int_array", 1007, -1, .debezium,
        #"{"type":"array","items":{"type":"int32","optional":true},"optional":true}"#),
      Case(
        "c_text_array", 1009, -1, .debezium,
        #"{"type":"array","items":{"type":"string","optional":true},"optional":true}"#),
      Case("c_inet", 869, -1, .debezium, #"{"type":"string","optional":true}"#),
      Case("c_cidr", 650, -1, .debezium, #"{"type":"string","optional":true}"#),
      Case("c_macaddr", 829, -1, .debezium, #"{"type":"string","optional":true}"#),
      Case(
        "c_point", 600, -1, .debezium,
        #"{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":false,"field":"y"},{"type":"bytes","optional":true,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}],"optional":true,"name":"io.debezium.data.geometry.Point","version":1,"doc":"Geometry (POINT)"}"#
      ),
      Case("c_bit1", 1560, 1, .debezium, #"{"type":"boolean","optional":true}"#),
      Case(
        "c_bit8", 1560, 8, .debezium,
        #"{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"8"}}"#
      ),
      Case(
        "c_varbit", 1562, -1, .debezium,
        #"{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"2147483647"}}"#
      ),
      Case(
        "c_tsvector", 3614, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Tsvector","version":1}"#),
      Case(
        "c_domain", 16762, -1, .debezium, #"{"type":"int32","optional":true}"#,
        user: .domain(base: 23, modifier: -1)),
      Case(
        "c_ltree", 16387, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Ltree","version":1}"#,
        user: .named("ltree")),
      Case(
        "c_hstore", 16572, -1, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1}"#,
        user: .named("hstore")),
      Case(
        "c_hstore", 16572, -1, doubleConnect,
        #"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"string","optional":true},"optional":true}"#,
        user: .named("hstore")),
      Case(
        "c_ts3", 1114, 3, .debezium,
        #"{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1}"#),
      Case(
        "c_ts3", 1114, 3, strings,
        #"{"type":"string","optional":true,"name":"io.debezium.time.IsoTimestamp","version":1}"#),
      Case(
        "c_ts3", 1114, 3, doubleConnect,
        #"{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1}"#
      ),
      Case(
        "c_time3", 1083, 3, .debezium,
        #"{"type":"int32","optional":true,"name":"io.debezium.time.Time","version":1}"#),
      Case(
        "c_time3", 1083, 3, strings,
        #"{"type":"string","optional":true,"name":"io.debezium.time.IsoTime","version":1}"#),
      Case(
        "c_time3", 1083, 3, doubleConnect,
        #"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1}"#
      ),
      Case(
        "c_time3", 1083, 3, microsHex,
        #"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1}"#),
      Case(
        "c_tstz3", 1184, 3, .debezium,
        #"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1}"#),
      Case(
        "c_num_arr", 1231, 327686, .debezium,
        #"{"type":"array","items":{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"5"}},"optional":true}"#
      ),
      Case(
        "c_num_arr", 1231, 327686, strings,
        #"{"type":"array","items":{"type":"string","optional":true},"optional":true}"#),
      Case(
        "c_num_arr", 1231, 327686, doubleConnect,
        #"{"type":"array","items":{"type":"double","optional":true},"optional":true}"#),
      Case(
        "c_date_arr", 1182, -1, .debezium,
        #"{"type":"array","items":{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1},"optional":true}"#
      ),
      Case(
        "c_date_arr", 1182, -1, strings,
        #"{"type":"array","items":{"type":"string","optional":true,"name":"io.debezium.time.IsoDate","version":1},"optional":true}"#
      ),
      Case(
        "c_date_arr", 1182, -1, doubleConnect,
        #"{"type":"array","items":{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1},"optional":true}"#
      ),
      Case(
        "c_num50", 1700, 327684, .debezium,
        #"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"5"}}"#
      ),
      Case("c_num50", 1700, 327684, strings, #"{"type":"string","optional":true}"#),
      Case("c_num50", 1700, 327684, doubleConnect, #"{"type":"double","optional":true}"#),
      Case("c_bpchar", 1042, 5, .debezium, #"{"type":"string","optional":true}"#),
      Case(
        "c_float4arr", 1021, -1, .debezium,
        #"{"type":"array","items":{"type":"float","optional":true},"optional":true}"#),
      Case("c_oid", 26, -1, .debezium, #"{"type":"int64","optional":true}"#),
      Case("c_citext_like", 19, -1, .debezium, #"{"type":"string","optional":true}"#),
    ]
  }

  func testEachColumnsSchemaIsDebeziumsForEachOption() {
    for c in cases {
      var userTypes: [UInt32: UserType] = [:]
      if let user = c.user { userTypes[c.oid] = user }
      let schema = DebeziumSchemas.column(
        c.oid, modifier: c.modifier, userTypes: userTypes, options: c.options)
      XCTAssertEqual(schema.json, c.expected, "\(c.column) with \(c.options)")
    }
  }

  func testAKeyColumnIsNotOptionalAndAStructMemberNamesItsField() {
    var out = JSONWriter()
    DebeziumSchemas.column(23, optional: false).write(field: "id", to: &out)
    XCTAssertEqual(
      String(decoding: out.bytes, as: UTF8.self),
      #"{"type":"int32","optional":false,"field":"id"}"#)
  }

  // MARK: - Events

  func stream(schemas: Bool) throws -> ChangeStream {
    var options = ValueConversionOptions.debezium
    options.schemas = schemas
    var stream = ChangeStream(
      settings: .init(
        connectorName: "shop", database: "db", topic: try TopicTemplate("shop.{schema}.{table}"),
        tombstonesOnDelete: true, conversion: options),
      confirmed: LSN(100))
    stream.now = { 42 }
    _ = try stream.receive(
      .relation(
        .init(
          oid: 7, schema: "public", name: "orders", replicaIdentity: UInt8(ascii: "d"),
          columns: [
            .init(name: "id", typeOID: 23, typeModifier: -1, isKey: true),
            .init(name: "day", typeOID: 1082, typeModifier: -1, isKey: false),
          ])), at: LSN(1))
    _ = try stream.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)), at: LSN(2))
    return stream
  }

  static let source =
    #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"},{"type":"string","optional":true,"field":"origin"},{"type":"int64","optional":true,"field":"origin_lsn"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"}"#
  static let transaction =
    #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}"#

  func testKeyAndValueCarryDebeziumsKeyAndEnvelopeSchemasAroundTheSamePayload() throws {
    var plain = try stream(schemas: false)
    var wrapped = try stream(schemas: true)
    let change = PgOutputMessage.insert(
      relation: 7, new: [.text(Array("1".utf8)), .text(Array("2024-02-29".utf8))])
    let a = try plain.receive(change, at: LSN(0x400))[0]
    let b = try wrapped.receive(change, at: LSN(0x400))[0]
    XCTAssertEqual(
      String(decoding: b.key!, as: UTF8.self),
      #"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"shop.public.orders.Key"},"payload":"#
        + String(decoding: a.key!, as: UTF8.self) + "}")
    let row =
      #"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"day"}],"optional":true,"name":"shop.public.orders.Value","#
    let envelope =
      #"{"type":"struct","fields":["# + row + #""field":"before"},"# + row + #""field":"after"},"#
      + Self.source + "," + Self.transaction
      + #",{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":"shop.public.orders.Envelope","version":2}"#
    XCTAssertEqual(
      String(decoding: b.value!, as: UTF8.self),
      #"{"schema":"# + envelope + #","payload":"# + String(decoding: a.value!, as: UTF8.self) + "}")
    XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(b.value!)))
    // Rendered once, when the Relation message came.
    XCTAssertEqual(
      wrapped.tables[7]?.valueSchema,
      Array(#"{"schema":"#.utf8) + Array(envelope.utf8) + Array(#","payload":"#.utf8))
    XCTAssertEqual(plain.tables[7]?.valueSchema, [])
    XCTAssertEqual(plain.tables[7]?.keySchema, [])
  }

  func testADeletesTombstoneStaysANullValueWithTheKeysSchemaForm() throws {
    var wrapped = try stream(schemas: true)
    let records = try wrapped.receive(
      .delete(relation: 7, old: .key([.text(Array("1".utf8)), .null])), at: LSN(0x400))
    XCTAssertEqual(records.count, 2)
    XCTAssertNil(records[1].value)
    XCTAssertEqual(records[1].key, records[0].key)
    XCTAssertTrue(String(decoding: records[1].key!, as: UTF8.self).hasPrefix(#"{"schema":"#))
  }

  func testATableWithoutAKeyHasNoKeyAndEveryColumnOptional() throws {
    let relation = PgOutputMessage.Relation(
      oid: 8, schema: "s", name: "log", replicaIdentity: UInt8(ascii: "n"),
      columns: [.init(name: "n", typeOID: 20, typeModifier: -1, isKey: false)])
    XCTAssertNil(
      DebeziumSchemas.key(
        of: relation, keyColumns: [], topic: "t", userTypes: [:], options: .debezium))
    XCTAssertEqual(
      DebeziumSchemas.value(
        of: relation, keyColumns: [], topic: "t", userTypes: [:], options: .debezium
      ).json,
      #"{"type":"struct","fields":[{"type":"int64","optional":true,"field":"n"}],"optional":true,"name":"t.Value"}"#
    )
  }

  func testCatalogFactsGiveNotNullAndConstantDefaultsAsDebeziumDoes() {
    // Debezium 3.6's schemas of `integer NOT NULL DEFAULT 5`, `text DEFAULT 'x'` and
    // `bigint NOT NULL DEFAULT 0`.
    let relation = PgOutputMessage.Relation(
      oid: 9, schema: "public", name: "t", replicaIdentity: UInt8(ascii: "d"),
      columns: [
        .init(name: "c_dflt", typeOID: 23, typeModifier: -1, isKey: false),
        .init(name: "c_txt_dflt", typeOID: 25, typeModifier: -1, isKey: false),
        .init(name: "c_serial_like", typeOID: 20, typeModifier: -1, isKey: false),
        .init(name: "c_day", typeOID: 1082, typeModifier: -1, isKey: false),
      ])
    let facts = ColumnFacts(columns: [
      "c_dflt": .init(notNull: true, defaultLiteral: ColumnFacts.literal(ofDefault: "5")),
      "c_txt_dflt": .init(
        notNull: false, defaultLiteral: ColumnFacts.literal(ofDefault: "'x'::text")),
      "c_serial_like": .init(notNull: true, defaultLiteral: ColumnFacts.literal(ofDefault: "0")),
      "c_day": .init(
        notNull: false, defaultLiteral: ColumnFacts.literal(ofDefault: "'1970-01-02'::date")),
    ])
    let schema = DebeziumSchemas.value(
      of: relation, keyColumns: [], topic: "p", userTypes: [:], options: .debezium, facts: facts)
    XCTAssertEqual(
      schema.fields.map(\.schema.json),
      [
        #"{"type":"int32","optional":false,"default":5}"#,
        #"{"type":"string","optional":true,"default":"x"}"#,
        #"{"type":"int64","optional":false,"default":0}"#,
        #"{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"default":1}"#,
      ])
  }

  func testOnlyConstantDefaultsAreTaken() {
    XCTAssertEqual(ColumnFacts.literal(ofDefault: "(-1)"), "-1")
    XCTAssertEqual(ColumnFacts.literal(ofDefault: "'-1'::integer"), "-1")
    XCTAssertEqual(ColumnFacts.literal(ofDefault: "'it''s'::character varying"), "it's")
    XCTAssertEqual(ColumnFacts.literal(ofDefault: "1.50::numeric(5,2)"), "1.50")
    XCTAssertEqual(ColumnFacts.literal(ofDefault: "true"), "t")
    // B'101' as pg_get_expr prints it.
    XCTAssertEqual(ColumnFacts.literal(ofDefault: #"'101'::"bit""#), "101")
    XCTAssertNil(ColumnFacts.literal(ofDefault: "nextval('t_id_seq'::regclass)"))
    XCTAssertNil(ColumnFacts.literal(ofDefault: "now()"))
    XCTAssertNil(ColumnFacts.literal(ofDefault: "CURRENT_TIMESTAMP"))
    XCTAssertNil(ColumnFacts.literal(ofDefault: "('x'::text || 'y'::text)"))
    XCTAssertNil(ColumnFacts.literal(ofDefault: "gen_random_uuid()"))
  }

  // MARK: - Config

  func cdc(_ body: String, transforms: String = "") throws -> CDCConfig {
    let definition = try ConnectorDefinition.parse(
      text:
        "name: shop-cdc\nsource: postgres-cdc\ntopic: \"shop.{schema}.{table}\"\n\(transforms)config:\n  url: postgresql://u@h/db\n  tables: [public.orders]\n\(body)",
      file: "shop.yaml", environment: [:])
    return try CDCConfig(definition: definition)
  }

  func testSchemasIsOffByDefaultAndOnWhenAsked() throws {
    XCTAssertFalse(try cdc("").conversion.schemas)
    XCTAssertTrue(try cdc("  schemas: true\n").conversion.schemas)
    XCTAssertEqual(
      try cdc("  schemas: true\n  decimal_handling: string\n").conversion,
      ValueConversionOptions(decimal: .string, schemas: true))
  }

  func testSchemasWithTheUnwrapTransformIsAccepted() throws {
    // unwrap reads the `{"schema","payload"}` form (ExtractNewRecordState+Schemas).
    XCTAssertTrue(
      try cdc("  schemas: true\n", transforms: "transforms:\n  - type: unwrap\n").conversion
        .schemas)
    XCTAssertNoThrow(try cdc("  schemas: false\n", transforms: "transforms:\n  - type: unwrap\n"))
  }

  private func connect(_ pairs: [(String, String)]) throws -> CDCConfig {
    var registry = ConnectorRegistry()
    PostgresCDCConnectors.register(in: &registry)
    var config = ConnectConfig([
      "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
      "database.hostname": "db", "database.user": "u", "database.dbname": "shop",
      "topic.prefix": "shop", "table.include.list": "public.orders",
    ])
    for (key, value) in pairs { config[key] = value }
    let definition = try registry.definition(
      name: "x", config: config, file: "x.json", interpolation: Interpolation(environment: [:]))
    return try CDCConfig(definition: definition)
  }

  func testKafkaConnectConverterSettingsChooseSchemasAsKafkaWould() throws {
    let json = "org.apache.kafka.connect.json.JsonConverter"
    // Neither side said: Sluice's schemaless JSON, as before.
    XCTAssertFalse(try connect([]).conversion.schemas)
    // Kafka's JsonConverter has schemas.enable=true unless told otherwise.
    XCTAssertTrue(try connect([("value.converter", json)]).conversion.schemas)
    XCTAssertTrue(
      try connect([("key.converter", json), ("value.converter", json)]).conversion.schemas)
    XCTAssertFalse(
      try connect([("value.converter", json), ("value.converter.schemas.enable", "false")])
        .conversion.schemas)
    XCTAssertTrue(
      try connect([
        ("key.converter", json), ("key.converter.schemas.enable", "true"),
        ("value.converter", json), ("value.converter.schemas.enable", "true"),
      ]).conversion.schemas)
    XCTAssertThrowsError(
      try connect([
        ("key.converter", json), ("key.converter.schemas.enable", "false"),
        ("value.converter", json),
      ])
    ) { error in
      let error = error as? ConfigError
      XCTAssertEqual(error?.key, "value.converter")
      XCTAssertTrue(
        error?.message.contains("key.converter.schemas.enable means schemas.enable=false") == true,
        "\(String(describing: error))")
    }
    // Debezium's usual Kafka Connect pipeline: the JSON converter with schemas and unwrap.
    XCTAssertTrue(
      try connect([
        ("value.converter", json), ("transforms", "unwrap"),
        ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"),
      ]).conversion.schemas)
  }
}
