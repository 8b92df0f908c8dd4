import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// `unwrap` done by the CDC renderer (``FusedUnwrap``) against the transform applied to the
/// envelopes: the same changes rendered both ways must give the same records byte for byte —
/// topic, key, value, headers, position — and drop the same ones, for every delete mode, the
/// legacy options, added fields and headers, and the cases the renderer hands to the transform.
final class FusedUnwrapTests: XCTestCase {
  typealias M = PgOutputMessage

  // MARK: - Fixtures

  /// The chain of a `postgres-cdc` connector file whose transforms are `unwrap` with
  /// `options`, then a RegexRouter and a filter on the row.
  private func definition(_ options: [(String, String)], schemas: Bool = false) throws
    -> ConnectorDefinition
  {
    var text = """
      name: shop-cdc
      source: postgres-cdc
      topic: "shop.{schema}.{table}"
      config:
        url: postgresql://sluice@127.0.0.1:5432/shop
        tables: [orders]
        schemas: \(schemas)
      transforms:
        - name: unwrap
          type: io.debezium.transforms.ExtractNewRecordState

      """
    for (key, value) in options { text += "    \(key): '\(value)'\n" }
    text += """
        - name: rename
          type: org.apache.kafka.connect.transforms.RegexRouter
          regex: "shop\\\\.(.*)"
          replacement: "cdc.$1"
        - name: skip
          type: filter_if
          if: 'value.id == 3 || value.__op == "u"'

      """
    return try ConnectorDefinition.parse(text: text, file: "shop.yaml", environment: [:])
  }

  private func stream(connector: String, unwrap: FusedUnwrap?, metadata: Bool = false)
    -> ChangeStream
  {
    var stream = ChangeStream(
      settings: .init(
        connectorName: connector, database: "d\"b",
        topic: try! TopicTemplate("shop.{schema}.{table}"),
        tombstonesOnDelete: true, unwrap: unwrap,
        transactionMetadata: metadata ? TransactionMetadata(topic: "shop.transaction") : nil),
      confirmed: LSN(100))
    stream.now = { 42 }
    return stream
  }

  private func text(_ s: String) -> M.TupleValue { .text(Array(s.utf8)) }

  /// A table of `columns` (name, type OID), the first the key.
  private func relation(
    _ oid: UInt32, _ name: String, identity: Character, _ columns: [(String, UInt32)]
  )
    -> M
  {
    .relation(
      M.Relation(
        oid: oid, schema: "public", name: name, replicaIdentity: identity.asciiValue!,
        columns: columns.enumerated().map { i, column in
          .init(name: column.0, typeOID: column.1, typeModifier: -1, isKey: i == 0)
        }))
  }

  /// Every kind of change on three tables: `orders` (REPLICA IDENTITY DEFAULT), `items`
  /// (FULL, so updates carry the old row and fill TOAST values from it) and `flags`, whose
  /// columns are named like the members `unwrap` adds.
  private var messages: [M] {
    let orders: [(String, UInt32)] = [
      ("id", 23), ("note", 25), ("amount", 1700), ("paid", 16), ("doc", 3802), ("at", 1184),
    ]
    return [
      relation(7, "orders", identity: "d", orders),
      relation(8, "items", identity: "f", [("id", 23), ("body", 25)]),
      relation(9, "flags", identity: "d", [("id", 23), ("__deleted", 25), ("__op", 25)]),
      .begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)),
      .insert(
        relation: 7,
        new: [
          text("1"), text("a \"quoted\"\nline"), text("12.50"), text("t"), text(#"{"k": [1, 2]}"#),
          text("2026-12-06 10:00:00.5+00"),
        ]),
      .insert(relation: 7, new: [text("2"), .null, .null, .null, .null, .null]),
      .update(
        relation: 7, old: nil,
        new: [text("1"), .unchangedToast, text("13"), text("f"), .null, .null]),
      // The key changes: a delete, its tombstone and a create.
      .update(
        relation: 7, old: .key([text("2"), .null, .null, .null, .null, .null]),
        new: [text("3"), text("moved"), .null, .null, .null, .null]),
      .delete(relation: 7, old: .key([text("1"), .null, .null, .null, .null, .null])),
      .insert(relation: 8, new: [text("10"), text("big body")]),
      .update(
        relation: 8, old: .full([text("10"), text("big body")]),
        new: [text("10"), .unchangedToast]),
      .delete(relation: 8, old: .full([text("10"), text("big body")])),
      .insert(relation: 9, new: [text("20"), text("x"), text("y")]),
      .delete(relation: 9, old: .key([text("20"), .null, .null])),
      .truncate(relations: [7, 8], cascade: false, restartIdentity: false),
      .commit(.init(commitLSN: LSN(0x500), endLSN: LSN(0x508), commitTime: 0)),
    ]
  }

  /// A record as the topic gets it, and its position.
  struct Written: Equatable, CustomStringConvertible {
    var topic: String
    var key: String?
    var value: String?
    var headers: [String]
    var position: String?

    init(_ record: SourceRecord) {
      topic = record.topic
      key = record.key.map { String(decoding: $0, as: UTF8.self) }
      value = record.value.map { String(decoding: $0, as: UTF8.self) }
      headers = record.headers.map {
        "\($0.name)=\($0.value.map { String(decoding: $0, as: UTF8.self) } ?? "<null>")"
      }
      position = record.position?.text
    }

    var description: String {
      "\(topic) \(key ?? "-") \(value ?? "<null>") \(headers) @\(position ?? "-")"
    }
  }

  /// The changes and snapshot reads rendered as envelopes and sent through the whole chain,
  /// and rendered by the fused `unwrap` and sent through the rest of it.
  private func bothWays(
    _ options: [(String, String)], connector: String = "shop", metadata: Bool = false
  ) throws -> (unfused: [Written], fused: [Written]) {
    let definition = try definition(options)
    let chain = definition.transforms
    let connectorObject = try PostgresCDCConnector(definition: definition)
    let split = chain.fused(into: connectorObject)
    let fusedConnector = try XCTUnwrap(split.source as? PostgresCDCConnector)
    let unwrap = try XCTUnwrap(fusedConnector.unwrap, "unwrap is fused")
    XCTAssertEqual(split.chain.steps.map(\.name), ["rename", "skip"])
    XCTAssertTrue(split.chain.valuesAreJSON, "the rest of the chain reads unwrap's JSON rows")

    func run(_ unwrap: FusedUnwrap?, _ chain: TransformChain) throws -> [Written] {
      var stream = stream(connector: connector, unwrap: unwrap, metadata: metadata)
      var records: [SourceRecord] = []
      for message in messages {
        records += try stream.receive(message, at: LSN(0x400)).map(\.sourceRecord)
      }
      if let unwrap {
        // `orders` is rendered here unless every event goes to the transform; `flags`, with
        // columns named like added members, only when nothing is added.
        XCTAssertEqual(stream.tables[7]?.rendersUnwrapped, !unwrap.everyEventThroughTransform)
        let adds =
          unwrap.transform.deletes == .rewrite || unwrap.fields.contains { $0.value == .op }
        if adds { XCTAssertEqual(stream.tables[9]?.rendersUnwrapped, false) }
      }
      for (oid, values) in [
        (UInt32(7), [text("5"), text("snap"), .null, text("t"), .null, .null]),
        (9, [text("6"), text("y"), text("z")]),
      ] {
        if let read = try stream.snapshotRead(oid, values, lsn: LSN(0x300), xid: 4, milliseconds: 7)
        {
          records.append(read.sourceRecord)
        }
      }
      return records.compactMap { record in
        switch chain.apply(TransformRecord(record)) {
        case .record(let out): return Written(out.sourceRecord(position: record.position))
        case .dropped: return nil
        case .failed(let step, let reason):
          XCTFail("\(step): \(reason)")
          return nil
        }
      }
    }
    return (try run(nil, chain), try run(unwrap, split.chain))
  }

  private func assertSame(
    _ options: [(String, String)], connector: String = "shop", metadata: Bool = false,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let (unfused, fused) = try bothWays(options, connector: connector, metadata: metadata)
    XCTAssertFalse(unfused.isEmpty, file: file, line: line)
    XCTAssertEqual(unfused.count, fused.count, "\(options)", file: file, line: line)
    for (a, b) in zip(unfused, fused) where a != b {
      XCTFail("\(options):\n  unfused \(a)\n  fused   \(b)", file: file, line: line)
    }
  }

  // MARK: - Tests

  func testEveryDeleteModeRendersTheTransformsRecords() throws {
    try assertSame([])
    for mode in ["tombstone", "drop", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone"] {
      try assertSame([("delete.tombstone.handling.mode", mode)])
    }
  }

  func testLegacyDeleteHandlingAndDropTombstones() throws {
    for mode in ["none", "drop", "rewrite"] {
      for drop in ["true", "false"] {
        try assertSame([("delete.handling.mode", mode), ("drop.tombstones", drop)])
      }
    }
  }

  func testAddedFieldsWithSourceFieldsAliasesAndAPrefix() throws {
    let fields =
      "op,ts_ms,table,lsn,source.ts_ms,source.snapshot:snap,txId,db,schema,name,version,connector,transaction.id,id,total_order,source.op:sop,source.missing,"
      + "sequence,ts_us,ts_ns,source.ts_us,source.ts_ns:sns,xmin,origin,origin_lsn,transaction"
    for mode in ["tombstone", "rewrite", "drop"] {
      try assertSame([("delete.tombstone.handling.mode", mode), ("add.fields", fields)])
    }
    try assertSame(
      [
        ("delete.handling.mode", "rewrite"), ("add.fields", fields), ("add.fields.prefix", "meta_"),
      ],
      connector: "sh\"op\\n")
  }

  func testTransactionMetadataInAddedFieldsAndHeadersAndBeginEndPassUnchanged() throws {
    let fields =
      "op,transaction.id,transaction.total_order,transaction.data_collection_order,transaction"
    for mode in ["tombstone", "rewrite", "drop"] {
      try assertSame(
        [
          ("delete.tombstone.handling.mode", mode), ("add.fields", fields),
          ("add.headers", "transaction.id,transaction.total_order"),
        ], metadata: true)
    }
    let (unfused, fused) = try bothWays(
      [("add.fields", "transaction.data_collection_order")], metadata: true)
    // BEGIN and END are not envelopes: both ways they pass `unwrap` as they are.
    for records in [unfused, fused] {
      let transactionRecords = records.filter { $0.topic == "cdc.transaction" }
      XCTAssertEqual(transactionRecords.count, 2)
      XCTAssertEqual(
        transactionRecords.first?.value?.hasPrefix(#"{"status":"BEGIN","id":"9:1024""#), true)
      XCTAssertEqual(
        transactionRecords.last?.value?.hasPrefix(
          #"{"status":"END","id":"9:1024","event_count":13,"#), true)
    }
    XCTAssertTrue(fused.contains { $0.value?.contains(#"_data_collection_order":3"#) == true })
  }

  func testAddedHeadersWithAPrefix() throws {
    let headers =
      "op,source.lsn:where,db,ts_ms,source.ts_ms,name,snapshot,source.missing,sequence,ts_ns,xmin,transaction.id"
    for mode in ["tombstone", "rewrite", "rewrite-with-tombstone", "drop"] {
      try assertSame([
        ("delete.tombstone.handling.mode", mode), ("add.headers", headers),
        ("add.fields", "op,table"),
      ])
    }
    try assertSame(
      [("drop.tombstones", "false"), ("add.headers", headers), ("add.headers.prefix", "h.")],
      connector: "sh\"op")
  }

  func testTheRenderersHandOffsGiveTheTransformsRecordsToo() throws {
    // Two added members of one name: every event through the transform.
    try assertSame([("add.fields", "op,op:op"), ("delete.tombstone.handling.mode", "rewrite")])
    try assertSame([
      ("add.fields", "op:deleted"), ("add.fields.prefix", "__"),
      ("delete.tombstone.handling.mode", "rewrite"),
    ])
  }

  func testRouteByFieldAndFieldsNamingARowOrTheSourceBlockAreNotFused() throws {
    var options = ["before", "after.id", "source", "after"].map { [("add.fields", $0)] }
    options.append([("route.by.field", "note")])
    for fields in options {
      let definition = try definition(fields)
      let connector = try PostgresCDCConnector(definition: definition)
      let split = definition.transforms.fused(into: connector)
      XCTAssertNil((split.source as? PostgresCDCConnector)?.unwrap, "\(fields)")
      XCTAssertEqual(split.chain.steps.count, 3, "\(fields)")
    }
  }

  /// With schemas the transform rewrites the row's schema as well as the row
  /// (`ExtractNewRecordState+Schemas`): the renderer leaves `unwrap` to the chain.
  func testWithSchemasUnwrapIsNotFused() throws {
    for options in [[], [("add.fields", "op,lsn")]] {
      let definition = try definition(options, schemas: true)
      let split = definition.transforms.fused(
        into: try PostgresCDCConnector(definition: definition))
      XCTAssertNil((split.source as? PostgresCDCConnector)?.unwrap, "\(options)")
      XCTAssertEqual(split.chain.steps.count, 3, "\(options)")
    }
  }

  func testAChainThatDoesNotStartWithUnwrapIsNotFused() throws {
    let definition = try ConnectorDefinition.parse(
      text: """
        name: shop-cdc
        source: postgres-cdc
        topic: "shop.{table}"
        config:
          url: postgresql://sluice@127.0.0.1:5432/shop
          tables: [orders]
        transforms:
          - name: rename
            type: org.apache.kafka.connect.transforms.RegexRouter
            regex: "a"
            replacement: "b"
          - name: unwrap
            type: unwrap
        """, file: "shop.yaml", environment: [:])
    let split = definition.transforms.fused(into: try PostgresCDCConnector(definition: definition))
    XCTAssertEqual(split.chain.steps.count, 2)
    XCTAssertNil((split.source as? PostgresCDCConnector)?.unwrap)
  }
}
