import SluiceCore
import XCTest

/// `unwrap` on change events in the JSON converter's `{"schema","payload"}` form, against what
/// Debezium 3.6's ExtractNewRecordState and the JSON converter wrote for the same events (the
/// expected schemas below were taken from the real Debezium's output): the row's
/// `<topic>.Value` schema (not optional) with the row, `__deleted` and `add.fields` as
/// optional fields with their Connect types, a `tombstone`-mode delete as the row's schema
/// with a null payload, `delete-to-tombstone` as a real tombstone; keys unchanged.
final class ExtractNewRecordStateSchemasTests: XCTestCase {
  private func chain(_ options: [(String, String)] = []) throws -> TransformChain {
    var text = "name: c\nsource: file\ntopic: t\nconfig: { path: /x }\ntransforms:\n"
    text += "  - name: x\n    type: io.debezium.transforms.ExtractNewRecordState\n"
    for (key, value) in options { text += "    \(key): '\(value)'\n" }
    return try ConnectorDefinition.parse(text: text, file: "c.yaml", environment: [:]).transforms
  }

  // MARK: - A change event of `db.public.customers` as the CDC source writes it with schemas

  private let columns =
    #"[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":false,"default":"x","field":"name"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"8"},"field":"price"}]"#

  private var valueSchema: String {
    #"{"type":"struct","fields":\#(columns),"optional":true,"name":"db.public.customers.Value""#
  }

  private let snapshotSchema =
    #"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"}"#

  private var sourceSchema: String {
    #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},\#(snapshotSchema),{"type":"string","optional":false,"field":"db"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"}"#
  }

  private let transactionSchema =
    #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}"#

  private var envelopeSchema: String {
    #"{"type":"struct","fields":[\#(valueSchema),"field":"before"},\#(valueSchema),"field":"after"},\#(sourceSchema),\#(transactionSchema),{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}],"optional":false,"name":"db.public.customers.Envelope","version":2}"#
  }

  private let source =
    #"{"version":"3.6.3.Final","connector":"postgresql","name":"db","ts_ms":1559033904000,"snapshot":"false","db":"inventory","schema":"public","table":"customers","txId":556,"lsn":24023128}"#

  private let row = #"{"id":1004,"name":"Anne","price":"AJY="}"#

  private func event(_ op: String, before: String = "null", after: String = "null") -> String {
    #"{"schema":\#(envelopeSchema),"payload":{"before":\#(before),"after":\#(after),"source":\#(source),"transaction":null,"op":"\#(op)","ts_ms":1559033904863}}"#
  }

  private let key =
    #"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"db.public.customers.Key"},"payload":{"id":1004}}"#

  private func record(_ value: String?) -> TransformRecord {
    TransformRecord(
      topic: "db.public.customers", key: Array(key.utf8), value: value.map { Array($0.utf8) },
      timestamp: 0)
  }

  /// The chain's record as JSON text; nil for a null value. Fails on a drop or an error.
  private func value(_ chain: TransformChain, _ value: String?, line: UInt = #line) -> String? {
    switch chain.apply(record(value)) {
    case .record(let out):
      XCTAssertEqual(out.key.bytes.map { String(decoding: $0, as: UTF8.self) }, key, line: line)
      return out.value.bytes.map { String(decoding: $0, as: UTF8.self) }
    case .dropped: XCTFail("dropped", line: line)
    case .failed(_, let reason): XCTFail("failed: \(reason)", line: line)
    }
    return nil
  }

  private func isDropped(_ chain: TransformChain, _ value: String?) -> Bool {
    if case .dropped = chain.apply(record(value)) { return true }
    return false
  }

  /// The row's schema as Debezium's unwrap writes it: `<topic>.Value`, not optional, with
  /// `extra` fields after the columns.
  private func rowSchema(_ extra: String = "") -> String {
    let fields = extra.isEmpty ? columns : String(columns.dropLast()) + "," + extra + "]"
    return
      #"{"type":"struct","fields":\#(fields),"optional":false,"name":"db.public.customers.Value"}"#
  }

  // MARK: - Tests

  func testTheRowComesWithItsValueSchemaAndTheKeyIsUnchanged() throws {
    let unwrap = try chain()
    for op in ["c", "r", "u"] {
      XCTAssertEqual(
        value(unwrap, event(op, before: row, after: row)),
        #"{"schema":\#(rowSchema()),"payload":\#(row)}"#, op)
    }
  }

  func testTombstoneModeKeepsTheRowSchemaWithANullPayloadAndDeleteToTombstoneDoesNot() throws {
    for options in [[], [("delete.tombstone.handling.mode", "tombstone")]] {
      let unwrap = try chain(options)
      XCTAssertEqual(
        value(unwrap, event("d", before: row)),
        #"{"schema":\#(valueSchema)},"payload":null}"#, "\(options)")
      XCTAssertTrue(isDropped(unwrap, nil), "the connector's tombstone is dropped")
    }
    let toTombstone = try chain([("delete.tombstone.handling.mode", "delete-to-tombstone")])
    XCTAssertNil(value(toTombstone, event("d", before: row)), "a real tombstone")
    XCTAssertTrue(isDropped(toTombstone, nil))
    let drop = try chain([("delete.tombstone.handling.mode", "drop")])
    XCTAssertTrue(isDropped(drop, event("d", before: row)))
  }

  func testRewriteAddsDeletedAsAnOptionalStringAndKeepsOrDropsTombstones() throws {
    let deletedField = #"{"type":"string","optional":true,"field":"__deleted"}"#
    for (options, keepsTombstones) in [
      ([("delete.tombstone.handling.mode", "rewrite")], false),
      ([("delete.tombstone.handling.mode", "rewrite-with-tombstone")], true),
      ([("delete.handling.mode", "rewrite"), ("drop.tombstones", "false")], true),
    ] {
      let unwrap = try chain(options)
      XCTAssertEqual(
        value(unwrap, event("d", before: row)),
        #"{"schema":\#(rowSchema(deletedField)),"payload":\#(row.dropLast()),"__deleted":"true"}}"#)
      XCTAssertEqual(
        value(unwrap, event("u", before: row, after: row)),
        #"{"schema":\#(rowSchema(deletedField)),"payload":\#(row.dropLast()),"__deleted":"false"}}"#
      )
      if keepsTombstones {
        XCTAssertNil(value(unwrap, nil), "\(options)")
      } else {
        XCTAssertTrue(isDropped(unwrap, nil), "\(options)")
      }
    }
  }

  func testAddFieldsAreOptionalFieldsWithTheTypeOfWhatTheyCopy() throws {
    let unwrap = try chain([
      ("add.fields", "op,table,lsn,source.ts_ms,ts_ms,transaction.id,snapshot,nosuch,version:VER"),
      ("delete.tombstone.handling.mode", "rewrite"),
    ])
    // As Debezium: after `__deleted`; `snapshot` keeps its semantic type but not its default,
    // and a streamed event's `"false"` (the default the converter wrote for a null) is null;
    // `transaction.id` is declared (the block is) and null outside a transaction; `nosuch` is
    // declared nowhere and left out.
    let added = [
      #"{"type":"string","optional":true,"field":"__deleted"}"#,
      #"{"type":"string","optional":true,"field":"__op"}"#,
      #"{"type":"string","optional":true,"field":"__table"}"#,
      #"{"type":"int64","optional":true,"field":"__lsn"}"#,
      #"{"type":"int64","optional":true,"field":"__source_ts_ms"}"#,
      #"{"type":"int64","optional":true,"field":"__ts_ms"}"#,
      #"{"type":"string","optional":true,"field":"__transaction_id"}"#,
      #"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"field":"__snapshot"}"#,
      #"{"type":"string","optional":true,"field":"__VER"}"#,
    ].joined(separator: ",")
    let values =
      #""__op":"c","__table":"customers","__lsn":24023128,"__source_ts_ms":1559033904000,"__ts_ms":1559033904863,"__transaction_id":null,"__snapshot":null,"__VER":"3.6.3.Final""#
    XCTAssertEqual(
      value(unwrap, event("c", after: row)),
      #"{"schema":\#(rowSchema(added)),"payload":\#(row.dropLast()),"__deleted":"false",\#(values)}}"#
    )
    let read = event("r", after: row).replacingOccurrences(
      of: #""snapshot":"false""#, with: #""snapshot":"last""#)
    XCTAssertTrue(
      try XCTUnwrap(value(unwrap, read)).contains(#""__snapshot":"last","#), "a snapshot read's")
    let deleted = try XCTUnwrap(value(unwrap, event("d", before: row)))
    XCTAssertTrue(deleted.contains(#""__deleted":"true","__op":"d","#), deleted)
    XCTAssertTrue(deleted.hasPrefix(#"{"schema":\#(rowSchema(added))"#), deleted)
    // In tombstone mode a delete has no row to add fields to.
    let tombstone = try chain([("add.fields", "op,lsn")])
    XCTAssertEqual(
      value(tombstone, event("d", before: row)),
      #"{"schema":\#(valueSchema)},"payload":null}"#)
  }

  func testAnAddedFieldOfAColumnsNameReplacesItInPlace() throws {
    let unwrap = try chain([("add.fields", "op:name"), ("add.fields.prefix", "")])
    XCTAssertEqual(
      value(unwrap, event("c", after: row)),
      #"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"8"},"field":"price"}],"optional":false,"name":"db.public.customers.Value"},"payload":{"id":1004,"name":"c","price":"AJY="}}"#
    )
  }

  func testHeadersAreTheSameAsWithoutSchemas() throws {
    let unwrap = try chain([
      ("add.headers", "op,db,lsn,transaction.id,nosuch"),
      ("delete.tombstone.handling.mode", "rewrite-with-tombstone"),
    ])
    guard case .record(let out) = unwrap.apply(record(event("u", before: row, after: row))) else {
      return XCTFail("not kept")
    }
    XCTAssertEqual(
      out.headers.map {
        "\($0.name)=\($0.value.map { String(decoding: $0, as: UTF8.self) } ?? "nil")"
      },
      ["__op=u", "__db=inventory", "__lsn=24023128", "__transaction_id=nil"])
    guard case .record(let tombstone) = unwrap.apply(record(nil)) else {
      return XCTFail("the tombstone is kept")
    }
    XCTAssertEqual(tombstone.headers.map(\.name), ["__op"])
  }

  func testTruncatesAreDroppedAndRecordsThatAreNotChangeEventsPass() throws {
    let unwrap = try chain([("add.fields", "op")])
    XCTAssertTrue(isDropped(unwrap, event("t")))
    let heartbeat =
      #"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat","version":1},"payload":{"ts_ms":1}}"#
    XCTAssertEqual(value(unwrap, heartbeat), heartbeat)
  }

  func testLaterTransformsReadTheRowUnderPayload() throws {
    let text = """
      name: c
      source: file
      topic: t
      config: { path: /x }
      transforms:
        - { name: unwrap, type: unwrap, delete.tombstone.handling.mode: rewrite }
        - { name: live, type: filter_if, if: 'value.payload.__deleted == "true"' }
      """
    let chain = try ConnectorDefinition.parse(text: text, file: "c.yaml", environment: [:])
      .transforms
    XCTAssertTrue(isDropped(chain, event("d", before: row)))
    XCTAssertNotNil(value(chain, event("c", after: row)))
  }

  // MARK: - The bytes path

  /// `unwrap` on the record's bytes and on its parsed value (the tree path) give the same
  /// record, for every delete mode, added fields and headers, routing, and the events the
  /// bytes path leaves to the tree (a column named like an added field, an escaped `op`).
  func testTheBytesPathGivesWhatTheTreePathGives() throws {
    let other = row.replacingOccurrences(of: "Anne", with: "Bob")
    let clash = #"{"id":1004,"name":"Anne","price":"AJY=","__op":"x"}"#
    let events = [
      event("c", after: row), event("r", after: row), event("u", before: other, after: row),
      event("d", before: row), event("d"), event("t"), event("c", after: clash),
      event("c", after: row).replacingOccurrences(of: #""op":"c""#, with: #""op":"\u0063""#),
      event("r", after: row).replacingOccurrences(
        of: #""snapshot":"false""#, with: #""snapshot":"last""#),
      #"{"schema":\#(envelopeSchema),"payload":null}"#,
      #"{"schema":{"type":"struct","fields":[],"optional":false,"name":"x.Heartbeat"},"payload":{"ts_ms":1}}"#,
    ]
    let configs: [[(String, String)]] = [
      [], [("delete.tombstone.handling.mode", "rewrite")],
      [("delete.tombstone.handling.mode", "drop")],
      [("delete.tombstone.handling.mode", "rewrite-with-tombstone")],
      [("delete.tombstone.handling.mode", "delete-to-tombstone")],
      [("delete.handling.mode", "rewrite"), ("drop.tombstones", "false")],
      [
        (
          "add.fields", "op,table,lsn,source.ts_ms,ts_ms,transaction.id,snapshot,nosuch,version:VER"
        ),
        ("delete.tombstone.handling.mode", "rewrite"),
      ],
      [("add.fields", "op:name"), ("add.fields.prefix", "")],
      [("add.fields", "op,op"), ("delete.tombstone.handling.mode", "rewrite")],
      [("add.headers", "op,db,lsn,transaction.id,snapshot,nosuch"), ("add.headers.prefix", "h_")],
      [("route.by.field", "name"), ("delete.tombstone.handling.mode", "rewrite")],
    ]
    var bytesPathKept = 0
    for options in configs {
      let unwrap = try XCTUnwrap(chain(options).steps.first?.transform)
      for event in events {
        let context = "options \(options), event \(event.suffix(220))"
        var raw = record(event)
        var parsed = record(event)
        _ = try parsed.value.json()  // the tree path: the value is already parsed
        func run(_ record: inout TransformRecord) -> (kept: Bool?, error: String?) {
          do throws(TransformError) {
            return (try unwrap.apply(to: &record), nil)
          } catch {
            return (nil, error.reason)
          }
        }
        let a = run(&raw)
        let b = run(&parsed)
        switch (a.kept, b.kept) {
        case (let keptA?, let keptB?):
          XCTAssertEqual(keptA, keptB, context)
          guard keptA else { continue }
          if case .bytes = raw.value, raw.valueIsJSON { bytesPathKept += 1 }
          XCTAssertEqual(raw.topic, parsed.topic, context)
          XCTAssertEqual(raw.headers, parsed.headers, context)
          XCTAssertEqual(try raw.value.json(), try parsed.value.json(), context)
        case (nil, nil):
          XCTAssertEqual(a.error, b.error, context)
        default:
          XCTFail("bytes: \(a), tree: \(b); \(context)")
        }
      }
    }
    XCTAssertGreaterThan(bytesPathKept, 40, "the bytes path took the common cases")
  }

  func testRowsOfAnotherTableGetTheirOwnSchema() throws {
    let unwrap = try chain([("add.fields", "op")])
    let first = try XCTUnwrap(value(unwrap, event("c", after: row)))
    let renamed = event("c", after: row).replacingOccurrences(
      of: "db.public.customers.", with: "db.public.clients.")
    let second = try XCTUnwrap(value(unwrap, renamed))
    XCTAssertTrue(first.contains(#""name":"db.public.customers.Value""#), first)
    XCTAssertTrue(second.contains(#""name":"db.public.clients.Value""#), second)
    XCTAssertEqual(
      try XCTUnwrap(value(unwrap, event("u", before: row, after: row))).count, first.count)
  }

  func testRouteByFieldReadsThePayloadsRow() throws {
    let unwrap = try chain([("route.by.field", "name")])
    guard case .record(let out) = unwrap.apply(record(event("c", after: row))) else {
      return XCTFail("not kept")
    }
    XCTAssertEqual(out.topic, "Anne")
  }
}
