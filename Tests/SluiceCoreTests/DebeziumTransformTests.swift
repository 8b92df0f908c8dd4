import SluiceCore
import XCTest

/// Debezium's transforms against the records Debezium's documentation describes for them:
/// ExtractNewRecordState's delete and tombstone modes, added fields and headers, routing by a
/// field; the outbox EventRouter's topic, key, payload, headers and placements;
/// ByLogicalTableRouter's topic and key. The expected records are written here from the docs.
final class DebeziumTransformTests: XCTestCase {
  // MARK: - Fixtures

  /// A chain of one transform of `type` with `options`, built from a connector file.
  private func chain(_ type: String, _ options: [(String, String)] = []) throws -> TransformChain {
    var text = "name: c\nsource: file\ntopic: t\nconfig: { path: /x }\ntransforms:\n"
    text += "  - name: x\n    type: \(type)\n"
    for (key, value) in options { text += "    \(key): '\(value)'\n" }
    return try ConnectorDefinition.parse(text: text, file: "c.yaml", environment: [:]).transforms
  }

  private func configError(_ type: String, _ options: [(String, String)]) -> String {
    do {
      _ = try chain(type, options)
      return "no error"
    } catch {
      return "\(error)"
    }
  }

  private let source =
    #"{"version":"1.0","connector":"postgresql","name":"db","ts_ms":1559033904000,"db":"inventory","schema":"public","table":"customers","txId":556,"lsn":24023128}"#

  /// A change event of `customers` as Sluice's CDC source writes it.
  private func event(_ op: String, before: String = "null", after: String = "null") -> String {
    #"{"before":\#(before),"after":\#(after),"source":\#(source),"op":"\#(op)","ts_ms":1559033904863,"transaction":null}"#
  }

  private let row =
    #"{"id":1004,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org"}"#

  private func record(
    _ value: String?, topic: String = "db.public.customers", key: String? = #"{"id":1004}"#
  ) -> TransformRecord {
    TransformRecord(
      topic: topic, key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) },
      timestamp: 0)
  }

  private func text(_ part: RecordPart) -> String? {
    part.bytes.map { String(decoding: $0, as: UTF8.self) }
  }

  private func header(_ out: TransformRecord, _ name: String) -> String? {
    out.headers.first { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
  }

  /// The record the chain made; fails the test when it dropped or failed it.
  private func kept(_ chain: TransformChain, _ record: TransformRecord, line: UInt = #line)
    -> TransformRecord?
  {
    switch chain.apply(record) {
    case .record(let out): return out
    case .dropped:
      XCTFail("dropped", line: line)
    case .failed(_, let reason):
      XCTFail("failed: \(reason)", line: line)
    }
    return nil
  }

  private func isDropped(_ chain: TransformChain, _ record: TransformRecord) -> Bool {
    if case .dropped = chain.apply(record) { return true }
    return false
  }

  // MARK: - ExtractNewRecordState

  func testUnwrapReplacesTheEnvelopeWithTheRowAfter() throws {
    let unwrap = try chain("io.debezium.transforms.ExtractNewRecordState")
    for op in ["c", "r", "u"] {
      let out = try XCTUnwrap(kept(unwrap, record(event(op, before: row, after: row))))
      XCTAssertEqual(text(out.value), row)
      XCTAssertEqual(text(out.key), #"{"id":1004}"#)
      XCTAssertEqual(out.topic, "db.public.customers")
    }
  }

  func testDefaultTombstoneModeTurnsDeletesIntoTombstonesAndDropsTheConnectorsTombstones()
    throws
  {
    for options in [
      [], [("delete.tombstone.handling.mode", "tombstone")],
      [("delete.tombstone.handling.mode", "delete-to-tombstone")],
    ] {
      let unwrap = try chain("unwrap", options)
      let out = try XCTUnwrap(kept(unwrap, record(event("d", before: row))))
      XCTAssertNil(out.value.bytes, "\(options)")
      XCTAssertEqual(text(out.key), #"{"id":1004}"#)
      XCTAssertTrue(isDropped(unwrap, record(nil)), "\(options)")
    }
  }

  func testDropModeDropsDeletesAndTombstones() throws {
    let unwrap = try chain("unwrap", [("delete.tombstone.handling.mode", "drop")])
    XCTAssertTrue(isDropped(unwrap, record(event("d", before: row))))
    XCTAssertTrue(isDropped(unwrap, record(nil)))
    XCTAssertEqual(try text(XCTUnwrap(kept(unwrap, record(event("c", after: row)))).value), row)
  }

  func testRewriteModeKeepsDeletesAsTheRowBeforeWithDeletedTrue() throws {
    let unwrap = try chain("unwrap", [("delete.tombstone.handling.mode", "rewrite")])
    let deleted = try XCTUnwrap(kept(unwrap, record(event("d", before: row))))
    XCTAssertEqual(text(deleted.value), String(row.dropLast()) + #","__deleted":"true"}"#)
    let created = try XCTUnwrap(kept(unwrap, record(event("c", after: row))))
    XCTAssertEqual(text(created.value), String(row.dropLast()) + #","__deleted":"false"}"#)
    XCTAssertTrue(isDropped(unwrap, record(nil)), "rewrite drops the tombstones")
  }

  func testRewriteWithTombstoneKeepsTheTombstones() throws {
    let unwrap = try chain("unwrap", [("delete.tombstone.handling.mode", "rewrite-with-tombstone")])
    let deleted = try XCTUnwrap(kept(unwrap, record(event("d", before: row))))
    XCTAssertTrue(try XCTUnwrap(text(deleted.value)).hasSuffix(#""__deleted":"true"}"#))
    let tombstone = try XCTUnwrap(kept(unwrap, record(nil)))
    XCTAssertNil(tombstone.value.bytes)
  }

  func testLegacyDeleteHandlingModeAndDropTombstones() throws {
    let none = try chain(
      "unwrap", [("delete.handling.mode", "none"), ("drop.tombstones", "false")])
    XCTAssertNil(try XCTUnwrap(kept(none, record(event("d", before: row)))).value.bytes)
    XCTAssertNil(try XCTUnwrap(kept(none, record(nil))).value.bytes, "drop.tombstones=false")
    let drop = try chain("unwrap", [("delete.handling.mode", "drop")])
    XCTAssertTrue(isDropped(drop, record(event("d", before: row))))
    XCTAssertTrue(isDropped(drop, record(nil)), "drop.tombstones is true by default")
    let rewrite = try chain("unwrap", [("delete.handling.mode", "rewrite")])
    XCTAssertTrue(
      try XCTUnwrap(text(XCTUnwrap(kept(rewrite, record(event("d", before: row)))).value))
        .hasSuffix(#""__deleted":"true"}"#))
  }

  func testNewAndLegacyDeleteOptionsTogetherAreAnError() {
    let error = configError(
      "unwrap", [("delete.tombstone.handling.mode", "rewrite"), ("drop.tombstones", "false")])
    XCTAssertTrue(error.hasPrefix("c.yaml:"), error)
    XCTAssertTrue(error.contains("give one or the other"), error)
    XCTAssertTrue(
      configError("unwrap", [("delete.tombstone.handling.mode", "rewrit")])
        .contains("did you mean 'rewrite'"))
  }

  func testAddFieldsFromTheEnvelopeAndSourceWithPrefixAndAliases() throws {
    // Debezium's documented example: `op,table,lsn,source.ts_ms` adds __op, __table, __lsn and
    // __source_ts_ms.
    let unwrap = try chain("unwrap", [("add.fields", "op,table,lsn,source.ts_ms")])
    let out = try XCTUnwrap(kept(unwrap, record(event("c", after: row))))
    XCTAssertEqual(
      text(out.value),
      String(row.dropLast())
        + #","__op":"c","__table":"customers","__lsn":24023128,"__source_ts_ms":1559033904000}"#)
    let renamed = try chain(
      "unwrap",
      [
        ("add.fields", "op:OPERATION,source.ts_ms:EVENT_TIMESTAMP,ts_ms"),
        ("add.fields.prefix", ""),
      ])
    let out2 = try XCTUnwrap(kept(renamed, record(event("u", before: row, after: row))))
    XCTAssertEqual(
      text(out2.value),
      String(row.dropLast())
        + #","OPERATION":"u","EVENT_TIMESTAMP":1559033904000,"ts_ms":1559033904863}"#)
    // A block that is null (no transaction during a snapshot) gives null; a field nowhere is
    // left out.
    let transaction = try chain("unwrap", [("add.fields", "transaction.id,nope")])
    XCTAssertEqual(
      try text(XCTUnwrap(kept(transaction, record(event("r", after: row)))).value),
      String(row.dropLast()) + #","__transaction_id":null}"#)
    // A streamed change's source.snapshot "false" is the converter's default for Debezium's
    // null, which Debezium adds (as the real Debezium 3.6 does); a snapshot's own value stays.
    let snapshot = try chain("unwrap", [("add.fields", "snapshot"), ("add.headers", "snapshot")])
    let streamed = event("c", after: row).replacingOccurrences(
      of: #""db":"inventory""#, with: #""snapshot":"false","db":"inventory""#)
    let streamedOut = try XCTUnwrap(kept(snapshot, record(streamed)))
    XCTAssertEqual(text(streamedOut.value), String(row.dropLast()) + #","__snapshot":null}"#)
    XCTAssertEqual(streamedOut.headers.map(\.name), ["__snapshot"])
    XCTAssertNil(streamedOut.headers.first?.value)
    let read = event("r", after: row).replacingOccurrences(
      of: #""db":"inventory""#, with: #""snapshot":"last","db":"inventory""#)
    XCTAssertEqual(
      try text(XCTUnwrap(kept(snapshot, record(read))).value),
      String(row.dropLast()) + #","__snapshot":"last"}"#)
    // Rewritten deletes get them too, after __deleted.
    let rewrite = try chain(
      "unwrap", [("delete.tombstone.handling.mode", "rewrite"), ("add.fields", "op")])
    XCTAssertTrue(
      try XCTUnwrap(text(XCTUnwrap(kept(rewrite, record(event("d", before: row)))).value))
        .hasSuffix(#""__deleted":"true","__op":"d"}"#))
    XCTAssertTrue(configError("unwrap", [("add.fields", "a.b.c")]).contains("not a field"))
  }

  func testAddHeadersWithPrefixAndTheOpHeaderOnTombstones() throws {
    let unwrap = try chain(
      "unwrap",
      [
        ("add.headers", "op,source.table:tbl,db"), ("add.headers.prefix", "dbz."),
        ("delete.tombstone.handling.mode", "rewrite-with-tombstone"),
      ])
    let out = try XCTUnwrap(kept(unwrap, record(event("u", before: row, after: row))))
    XCTAssertEqual(header(out, "dbz.op"), "u")
    XCTAssertEqual(header(out, "dbz.tbl"), "customers")
    XCTAssertEqual(header(out, "dbz.db"), "inventory")
    XCTAssertEqual(
      text(out.value), String(row.dropLast()) + #","__deleted":"false"}"#,
      "headers add no fields")
    let tombstone = try XCTUnwrap(kept(unwrap, record(nil)))
    XCTAssertEqual(tombstone.headers.map(\.name), ["dbz.op"])
    XCTAssertEqual(header(tombstone, "dbz.op"), "d")
  }

  func testRouteByFieldTakesTheTopicFromTheRow() throws {
    let unwrap = try chain(
      "unwrap", [("route.by.field", "last_name"), ("delete.tombstone.handling.mode", "rewrite")])
    XCTAssertEqual(try XCTUnwrap(kept(unwrap, record(event("c", after: row)))).topic, "Kretchmar")
    XCTAssertEqual(
      try XCTUnwrap(kept(unwrap, record(event("d", before: row)))).topic, "Kretchmar",
      "deletes route by the row before")
    XCTAssertEqual(
      try XCTUnwrap(kept(unwrap, record(event("c", after: #"{"id":1}"#)))).topic,
      "db.public.customers", "a row without the field keeps its topic")
  }

  func testRecordsThatAreNotChangeEventsPassUnchanged() throws {
    let unwrap = try chain("unwrap", [("add.fields", "op")])
    let heartbeat = #"{"ts_ms":1559033904863}"#
    XCTAssertEqual(try text(XCTUnwrap(kept(unwrap, record(heartbeat))).value), heartbeat)
    XCTAssertTrue(isDropped(unwrap, record(event("t"))), "Debezium drops truncate events")
    guard case .failed(let step, let reason) = unwrap.apply(record("not json")) else {
      return XCTFail("a value that is not JSON is a record error")
    }
    XCTAssertEqual(step, "x")
    XCTAssertTrue(reason.contains("not JSON"), reason)
    guard case .failed(_, let noAfter) = unwrap.apply(record(#"{"op":"c","before":null}"#)) else {
      return XCTFail("a create without a row is a record error")
    }
    XCTAssertTrue(noAfter.contains("neither a row before nor after"), noAfter)
  }

  func testReplaceNullWithDefaultIsAcceptedAndUnknownOptionsAreNot() throws {
    let unwrap = try chain("unwrap", [("replace.null.with.default", "false")])
    XCTAssertEqual(try text(XCTUnwrap(kept(unwrap, record(event("c", after: row)))).value), row)
    XCTAssertTrue(
      configError("unwrap", [("add.field", "op")]).contains("did you mean 'add.fields'"))
  }

  // MARK: - EventRouter

  private let outboxRow =
    #"{"id":"406c07f3-26f0-4eea-a50c-109940064b8f","aggregatetype":"Order","aggregateid":"1","type":"OrderCreated","payload":"{\"id\":1,\"lineItems\":[{\"item\":\"Debezium in Action\",\"qty\":2}],\"customerId\":123}"}"#

  func testEventRouterRoutesByAggregateTypeKeysByAggregateIdAndPutsTheIdInAHeader() throws {
    let router = try chain("io.debezium.transforms.outbox.EventRouter")
    let out = try XCTUnwrap(
      kept(router, record(event("c", after: outboxRow), topic: "db.public.outbox")))
    XCTAssertEqual(out.topic, "outbox.event.Order")
    XCTAssertEqual(text(out.key), #""1""#)
    XCTAssertEqual(header(out, "id"), "406c07f3-26f0-4eea-a50c-109940064b8f")
    XCTAssertEqual(
      text(out.value),
      #""{\"id\":1,\"lineItems\":[{\"item\":\"Debezium in Action\",\"qty\":2}],\"customerId\":123}""#,
      "without table.expand.json.payload the payload stays text")
  }

  func testEventRouterExpandsTheJSONPayload() throws {
    let router = try chain("event_router", [("table.expand.json.payload", "true")])
    let out = try XCTUnwrap(kept(router, record(event("r", after: outboxRow))))
    XCTAssertEqual(
      text(out.value),
      #"{"id":1,"lineItems":[{"item":"Debezium in Action","qty":2}],"customerId":123}"#)
  }

  func testEventRouterDropsDeletesTombstonesAndUpdatesAndPassesOtherRecords() throws {
    let router = try chain("event_router")
    XCTAssertTrue(isDropped(router, record(event("d", before: outboxRow))))
    XCTAssertTrue(isDropped(router, record(nil)))
    XCTAssertTrue(isDropped(router, record(event("u", before: outboxRow, after: outboxRow))))
    let heartbeat = #"{"ts_ms":1}"#
    XCTAssertEqual(try text(XCTUnwrap(kept(router, record(heartbeat))).value), heartbeat)
    XCTAssertTrue(
      isDropped(
        try chain("event_router", [("table.op.invalid.behavior", "error")]),
        record(event("u", before: outboxRow, after: outboxRow))),
      "error drops it too (Debezium logs it as an error)")
    let strict = try chain("event_router", [("table.op.invalid.behavior", "fatal")])
    guard
      case .failed(_, let reason) = strict.apply(
        record(event("u", before: outboxRow, after: outboxRow)))
    else { return XCTFail("an update is an error with table.op.invalid.behavior=fatal") }
    XCTAssertTrue(reason.contains("update"), reason)
    guard case .failed(_, let missing) = router.apply(record(event("c", after: #"{"id":"x"}"#)))
    else { return XCTFail("a row without aggregatetype is an error") }
    XCTAssertTrue(missing.contains("aggregatetype"), missing)
  }

  func testEventRouterColumnNamesRegexAndReplacement() throws {
    let row = #"{"uuid":"e1","kind":"customer-events","entity":7,"body":{"a":1},"evt":"Created"}"#
    let router = try chain(
      "event_router",
      [
        ("table.field.event.id", "uuid"), ("table.field.event.key", "entity"),
        ("table.field.event.payload", "body"), ("route.by.field", "kind"),
        ("route.topic.regex", "(?<routedByValue>.*)-events"),
        ("route.topic.replacement", "${routedByValue}.events"),
      ])
    let out = try XCTUnwrap(kept(router, record(event("c", after: row))))
    XCTAssertEqual(out.topic, "customer.events")
    XCTAssertEqual(text(out.key), "7")
    XCTAssertEqual(header(out, "id"), "e1")
    XCTAssertEqual(text(out.value), #"{"a":1}"#)
    let numbered = try chain(
      "event_router",
      [
        ("route.by.field", "kind"), ("table.field.event.key", "entity"),
        ("table.field.event.id", "uuid"), ("table.field.event.payload", "body"),
        ("route.topic.regex", "(.*)-(events)"),
        ("route.topic.replacement", "$2.$1"),
      ])
    XCTAssertEqual(
      try XCTUnwrap(kept(numbered, record(event("c", after: row)))).topic, "events.customer")
  }

  func testEventRouterAdditionalPlacementInHeadersEnvelopeAndPartition() throws {
    let row =
      #"{"id":"e1","aggregatetype":"Order","aggregateid":"1","type":"OrderCreated","payload":{"n":1},"part":2}"#
    let router = try chain(
      "event_router",
      [
        (
          "table.fields.additional.placement",
          "type:header:eventType,type:envelope,aggregateid:envelope:aggId,part:partition"
        )
      ])
    let out = try XCTUnwrap(kept(router, record(event("c", after: row))))
    XCTAssertEqual(header(out, "eventType"), "OrderCreated")
    XCTAssertEqual(text(out.value), #"{"payload":{"n":1},"type":"OrderCreated","aggId":"1"}"#)
    XCTAssertEqual(out.partition, 2)
    XCTAssertTrue(
      configError("event_router", [("table.fields.additional.placement", "type:body")])
        .contains("not 'column:header'"))
  }

  func testEventRouterKeyIdPayloadAndTimestampColumns() throws {
    let router = try chain("event_router", [("table.expand.json.payload", "true")])
    let noKey = #"{"id":"e1","aggregatetype":"Order","payload":"plain text","type":"T"}"#
    let out = try XCTUnwrap(kept(router, record(event("c", after: noKey))))
    XCTAssertNil(out.key.bytes, "a row without the key column gives no key")
    XCTAssertEqual(text(out.value), #""plain text""#, "text that is not JSON stays text")
    XCTAssertEqual(out.timestamp, 1_559_033_904_863, "the envelope's ts_ms")
    guard
      case .failed(_, let noID) = router.apply(
        record(event("c", after: #"{"aggregatetype":"Order","payload":"{}"}"#)))
    else { return XCTFail("a row without the id column is an error") }
    XCTAssertTrue(noID.contains("'id'"), noID)
    guard
      case .failed(_, let noPayload) = router.apply(
        record(event("c", after: #"{"id":"e1","aggregatetype":"Order"}"#)))
    else { return XCTFail("a row without the payload column is an error") }
    XCTAssertTrue(noPayload.contains("'payload'"), noPayload)
    let stamped = try chain("event_router", [("table.field.event.timestamp", "created_ms")])
    let row =
      #"{"id":"e1","aggregatetype":"Order","aggregateid":"1","payload":"{}","created_ms":1700000000000}"#
    XCTAssertEqual(
      try XCTUnwrap(kept(stamped, record(event("c", after: row)))).timestamp, 1_700_000_000_000)
  }

  func testEventRouterTombstoneOnEmptyPayload() throws {
    let row =
      #"{"id":"e1","aggregatetype":"Order","aggregateid":"1","type":"Deleted","payload":null}"#
    let tombstones = try chain("event_router", [("route.tombstone.on.empty.payload", "true")])
    let out = try XCTUnwrap(kept(tombstones, record(event("c", after: row))))
    XCTAssertNil(out.value.bytes)
    XCTAssertEqual(out.topic, "outbox.event.Order")
    XCTAssertEqual(text(out.key), #""1""#)
  }

  // MARK: - ByLogicalTableRouter

  func testByLogicalTableRouterMergesShardsAndKeepsKeysApart() throws {
    // Debezium's documented example: customers_shard1…3 into one customers_all_shards topic.
    let router = try chain(
      "io.debezium.transforms.ByLogicalTableRouter",
      [("topic.regex", "(.*)customers_shard(.*)"), ("topic.replacement", "$1customers_all_shards")])
    let out = try XCTUnwrap(
      kept(router, record(event("c", after: row), topic: "myserver.mydb.customers_shard1")))
    XCTAssertEqual(out.topic, "myserver.mydb.customers_all_shards")
    XCTAssertEqual(
      text(out.key),
      #"{"id":1004,"__dbz__physicalTableIdentifier":"myserver.mydb.customers_shard1"}"#)
    XCTAssertEqual(text(out.value), event("c", after: row), "the value is unchanged")
    let other = try XCTUnwrap(kept(router, record(nil, topic: "myserver.mydb.orders")))
    XCTAssertEqual(other.topic, "myserver.mydb.orders")
    XCTAssertEqual(text(other.key), #"{"id":1004}"#, "a topic that does not match is untouched")
    let empty = try chain(
      "ByLogicalTableRouter", [("topic.regex", "drop_(.*)"), ("topic.replacement", "$1")])
    XCTAssertEqual(
      try XCTUnwrap(kept(empty, record(nil, topic: "drop_"))).topic, "drop_",
      "an empty replacement leaves the record as it was")
  }

  func testByLogicalTableRouterKeyFieldOptions() throws {
    let router = try chain(
      "ByLogicalTableRouter",
      [
        ("topic.regex", "(.*)customers_shard(.*)"), ("topic.replacement", "$1customers_all_shards"),
        ("key.field.name", "shard_id"), ("key.field.regex", "(.*)customers_shard(.*)"),
        ("key.field.replacement", "$2"),
      ])
    let out = try XCTUnwrap(kept(router, record(nil, topic: "myserver.mydb.customers_shard3")))
    XCTAssertEqual(text(out.key), #"{"id":1004,"shard_id":"3"}"#)
    let plain = try chain(
      "ByLogicalTableRouter",
      [
        ("topic.regex", "(.*)_shard(.*)"), ("topic.replacement", "$1"),
        ("key.enforce.uniqueness", "false"),
      ])
    let out2 = try XCTUnwrap(kept(plain, record(nil, topic: "c_shard1")))
    XCTAssertEqual(out2.topic, "c")
    XCTAssertEqual(text(out2.key), #"{"id":1004}"#)
    guard
      case .failed(_, let reason) = router.apply(
        record(nil, topic: "customers_shard1", key: "\"plain\""))
    else { return XCTFail("a key that is not an object cannot take the field") }
    XCTAssertTrue(reason.contains("not a JSON object"), reason)
    XCTAssertTrue(
      configError("ByLogicalTableRouter", [("topic.regex", "a")]).contains("topic.replacement"))
  }

  func testBadOptionsAreErrorsAtTheirLine() {
    let cases: [(String, [(String, String)], String)] = [
      (
        "unwrap", [("delete.handling.mode", "rewrite-with-tombstone")],
        "expected one of none, drop, rewrite"
      ),
      ("unwrap", [("drop.tombstones", "maybe")], "expected true or false"),
      ("unwrap", [("add.headers", "op:")], "not a field"),
      ("unwrap$Key", [], "has no $Key form"),
      ("event_router", [("route.topic.regex", "(")], "not a valid regular expression"),
      ("event_router", [("table.op.invalid.behavior", "eror")], "did you mean 'error'"),
      (
        "event_router", [("table.field.event.paylod", "p")],
        "did you mean 'table.field.event.payload'"
      ),
      ("ByLogicalTableRouter", [("topic.replacement", "x")], "needs 'topic.regex'"),
      (
        "ByLogicalTableRouter",
        [("topic.regex", "a"), ("topic.replacement", "b"), ("key.field.replacement", "c")],
        "applies with 'key.field.regex'"
      ),
      ("ExtractNewRecordStat", [], "did you mean 'ExtractNewRecordState'"),
    ]
    for (type, options, expected) in cases {
      let error = configError(type, options)
      XCTAssertTrue(error.hasPrefix("c.yaml:"), "\(type): \(error)")
      XCTAssertTrue(error.contains(expected), "\(type): \(error)")
    }
  }

  func testKafkaConnectFormBuildsUnwrapAndRoute() throws {
    let file = try ConnectConfigFile.parse(
      text: """
        {"name": "c", "config": {"connector.class": "sluice.source.tester", "topic": "t",
          "transforms": "unwrap,route",
          "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
          "transforms.unwrap.delete.tombstone.handling.mode": "rewrite",
          "transforms.unwrap.add.fields": "op,source.ts_ms",
          "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
          "transforms.route.regex": "db\\\\.public\\\\.(.*)", "transforms.route.replacement": "copy_$1"}}
        """, file: "c.json")
    var registry = ConnectorRegistry()
    registry.registerSource("tester") { _ in throw TransformError("not built in this test") }
    let d = try registry.definition(
      name: "c", config: file.config, file: "c.json",
      interpolation: Interpolation(environment: [:], secretsDirectories: []))
    let out = try XCTUnwrap(kept(d.transforms, record(event("d", before: row))))
    XCTAssertEqual(out.topic, "copy_customers")
    XCTAssertEqual(
      text(out.value),
      String(row.dropLast()) + #","__deleted":"true","__op":"d","__source_ts_ms":1559033904000}"#)
  }
}
