import SluiceCore
import XCTest

/// `unwrap` on a change event's bytes gives what it gives on the parsed event: every mode of
/// delete handling, added fields and headers (present, absent, in a null block), routing by a
/// field, truncates, and the cases it leaves to the tree (a row that already has an added name).
final class ExtractNewRecordStateBytesTests: XCTestCase {
  private func chain(_ options: [(String, String)]) throws -> TransformChain {
    var text = "name: c\nsource: file\ntopic: t\nconfig: { path: /x }\ntransforms:\n"
    text += "  - name: x\n    type: io.debezium.transforms.ExtractNewRecordState\n"
    for (key, value) in options { text += "    \(key): '\(value)'\n" }
    return try ConnectorDefinition.parse(text: text, file: "c.yaml", environment: [:]).transforms
  }

  private let source =
    #"{"version":"3.0","connector":"postgresql","name":"db","ts_ms":1559033904000,"snapshot":"false","db":"inv","schema":"public","table":"customers","txId":556,"lsn":24023128}"#

  private func event(_ op: String, before: String, after: String, transaction: String = "null")
    -> String
  {
    #"{"before":\#(before),"after":\#(after),"source":\#(source),"op":"\#(op)","ts_ms":1559033904863,"transaction":\#(transaction)}"#
  }

  private var events: [String] {
    let row = #"{"id":1004,"name":"Anne","region":"eu","score":1.50,"tags":["a","b"],"o":{"k":null}}"#
    let old = #"{"id":1004,"name":"Anna","region":"us","score":2,"tags":[],"o":{}}"#
    let tx = #"{"id":"571:53195829","total_order":1,"data_collection_order":1}"#
    return [
      event("c", before: "null", after: row),
      event("r", before: "null", after: row),
      event("u", before: old, after: row, transaction: tx),
      event("d", before: old, after: "null", transaction: tx),
      event("d", before: "null", after: "null"),
      event("t", before: "null", after: "null"),
      event("c", before: "null", after: "{}"),
      event("c", before: "null", after: #"{"id":1,"__deleted":"x","__op":"y"}"#),
      #"{"op":"c","after": { "id" : 1 } , "before":null}"#,
      #"{"schema":{"type":"struct"},"payload":1}"#,
    ]
  }

  private let configs: [[(String, String)]] = [
    [],
    [("delete.tombstone.handling.mode", "rewrite")],
    [("delete.tombstone.handling.mode", "drop")],
    [("delete.tombstone.handling.mode", "rewrite-with-tombstone")],
    [("delete.handling.mode", "rewrite"), ("drop.tombstones", "false")],
    [
      ("add.fields", "op,source.ts_ms,table:tbl,transaction.id,lsn,missing,source.nothing,snapshot")
    ],
    [("add.headers", "snapshot,source.snapshot:s"), ("delete.tombstone.handling.mode", "rewrite")],
    [("add.headers", "op,db,transaction.total_order,ts_ms"), ("add.headers.prefix", "h_")],
    [("route.by.field", "region"), ("delete.tombstone.handling.mode", "rewrite")],
    [
      ("add.fields", "op,source.ts_ms"), ("add.fields.prefix", ""),
      ("delete.tombstone.handling.mode", "rewrite"), ("add.headers", "source.table"),
    ],
  ]

  func testTheBytesPathGivesWhatTheTreePathGives() throws {
    for options in configs {
      let chain = try chain(options)
      for event in events {
        let bytes = Array(event.utf8)
        var parsed = TransformRecord(topic: "db.public.customers", key: nil, value: bytes, timestamp: 0)
        _ = try parsed.value.json()  // the tree path: the value is already parsed
        let raw = TransformRecord(topic: "db.public.customers", key: nil, value: bytes, timestamp: 0)
        let context = "options \(options), event \(event)"
        switch (chain.apply(raw), chain.apply(parsed)) {
        case (.record(let a), .record(let b)):
          XCTAssertEqual(a.topic, b.topic, context)
          XCTAssertEqual(a.headers, b.headers, context)
          XCTAssertEqual(
            a.value.bytes.flatMap { JSONValue.parse($0) }, b.value.bytes.flatMap { JSONValue.parse($0) },
            context)
          XCTAssertEqual(a.value.isNull, b.value.isNull, context)
        case (.dropped, .dropped):
          break
        case (.failed(_, let a), .failed(_, let b)):
          XCTAssertEqual(a, b, context)
        case (let a, let b):
          XCTFail("bytes: \(a), tree: \(b); \(context)")
        }
      }
    }
  }

  func testTheRowKeepsItsBytesAndTheAddedFieldsFollowItsLastMember() throws {
    let chain = try chain([
      ("delete.tombstone.handling.mode", "rewrite"), ("add.fields", "op,source.lsn"),
    ])
    let event = event(
      "c", before: "null", after: #"{"id":7,"amount":1.50,"note":"caf\u00e9"}"#)
    let raw = TransformRecord(topic: "t", key: nil, value: Array(event.utf8), timestamp: 0)
    guard case .record(let out) = chain.apply(raw) else { return XCTFail("not kept") }
    XCTAssertEqual(
      out.value.bytes.map { String(decoding: $0, as: UTF8.self) },
      #"{"id":7,"amount":1.50,"note":"caf\u00e9","__deleted":"false","__op":"c","__source_lsn":24023128}"#)
  }
}
