import Foundation
import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// Debezium's transaction metadata from the pgoutput state machine: BEGIN and END records,
/// each event's `transaction` block, the counts, and the positions that make them exactly once.
final class TransactionMetadataTests: XCTestCase {
  typealias M = PgOutputMessage

  private func makeStream(metadata: Bool = true) throws -> ChangeStream {
    var stream = ChangeStream(
      settings: .init(
        connectorName: "shop", database: "db", topic: try TopicTemplate("shop.{schema}.{table}"),
        tombstonesOnDelete: true,
        transactionMetadata: metadata ? TransactionMetadata(topic: "shop.transaction") : nil),
      confirmed: LSN(100))
    stream.now = { 42 }
    return stream
  }

  private func relation(_ oid: UInt32, _ schema: String, _ name: String) -> M {
    .relation(
      M.Relation(
        oid: oid, schema: schema, name: name, replicaIdentity: UInt8(ascii: "d"),
        columns: [
          .init(name: "id", typeOID: 23, typeModifier: -1, isKey: true),
          .init(name: "note", typeOID: 25, typeModifier: -1, isKey: false),
        ]))
  }

  private func row(_ id: Int) -> [M.TupleValue] { [.text(Array("\(id)".utf8)), .null] }
  private func text(_ bytes: [UInt8]?) -> String? {
    bytes.map { String(decoding: $0, as: UTF8.self) }
  }

  /// One transaction over two tables: two inserts into `orders`, a delete (and its tombstone)
  /// from `inventory.items`, an update of `orders`; committed 2000-01-01 00:00:01.5.
  private func transaction(_ stream: inout ChangeStream) throws -> [ChangeRecord] {
    _ = try stream.receive(relation(7, "public", "orders"), at: LSN(1))
    _ = try stream.receive(relation(8, "inventory", "items"), at: LSN(2))
    var records = try stream.receive(
      .begin(.init(finalLSN: LSN(0x900), commitTime: 1_500_000, xid: 77)), at: LSN(0x800))
    records += try stream.receive(.insert(relation: 7, new: row(1)), at: LSN(0x810))
    records += try stream.receive(.insert(relation: 7, new: row(2)), at: LSN(0x820))
    records += try stream.receive(.delete(relation: 8, old: .key(row(5))), at: LSN(0x830))
    records += try stream.receive(.update(relation: 7, old: nil, new: row(1)), at: LSN(0x840))
    records += try stream.receive(
      .commit(.init(commitLSN: LSN(0x900), endLSN: LSN(0x908), commitTime: 1_500_000)),
      at: LSN(0x908))
    return records
  }

  /// (The tables in END in the order Java 17's HashMap gives: public.orders first.)
  func testBeginEventsWithBlocksAndEndWithCountsAsDebeziumWritesThem() throws {
    var stream = try makeStream()
    let records = try transaction(&stream)
    XCTAssertEqual(
      records.map(\.topic),
      [
        "shop.transaction", "shop.public.orders", "shop.public.orders", "shop.inventory.items",
        "shop.inventory.items", "shop.public.orders", "shop.transaction",
      ])
    // Debezium's ids: the xid and the LSN of the message at hand (Begin, event, Commit).
    XCTAssertEqual(text(records[0].key), #"{"id":"77:2048"}"#)
    XCTAssertEqual(
      text(records[0].value),
      #"{"status":"BEGIN","id":"77:2048","event_count":null,"data_collections":null,"ts_ms":946684801500}"#
    )
    XCTAssertEqual(text(records[6].key), #"{"id":"77:2312"}"#)
    XCTAssertEqual(
      text(records[6].value),
      #"{"status":"END","id":"77:2312","event_count":4,"data_collections":[{"data_collection":"public.orders","event_count":3},{"data_collection":"inventory.items","event_count":1}],"ts_ms":946684801500}"#
    )
    let blocks = [1, 2, 3, 5].map { i -> String in
      let value = text(records[i].value)!
      let start = value.range(of: #""transaction":"#)!.upperBound
      let end = value.range(of: #","op":"#)!.lowerBound
      return String(value[start..<end])
    }
    XCTAssertEqual(
      blocks,
      [
        #"{"id":"77:2064","total_order":1,"data_collection_order":1}"#,
        #"{"id":"77:2080","total_order":2,"data_collection_order":2}"#,
        #"{"id":"77:2096","total_order":3,"data_collection_order":1}"#,
        #"{"id":"77:2112","total_order":4,"data_collection_order":3}"#,
      ])
    // The tombstone is not an event of its own (Debezium counts the delete once).
    XCTAssertNil(records[4].value)
  }

  func testBeginTakesTheFirstPositionAndEndTheLastSoAReplayRewritesThemIdentically() throws {
    var stream = try makeStream()
    let records = try transaction(&stream)
    XCTAssertEqual(
      records.map(\.position.sourcePosition.text),
      (0...6).map { "0000000000000900-0000000\($0)" })
    // A replay of the same transaction (after a crash) makes the same records at the same
    // positions: the runtime drops those already durable, BEGIN and END included.
    var replay = try makeStream()
    XCTAssertEqual(try transaction(&replay), records)
    XCTAssertEqual(stream.takeTally().transactions, 1)
  }

  func testWithoutMetadataEventsKeepANullBlockAndTheirPositions() throws {
    var stream = try makeStream(metadata: false)
    let records = try transaction(&stream)
    XCTAssertEqual(records.count, 5)
    XCTAssertFalse(records.contains { $0.topic == "shop.transaction" })
    XCTAssertEqual(records[0].position.sourcePosition.text, "0000000000000900-00000000")
    for record in records where record.value != nil {
      XCTAssertTrue(text(record.value)!.contains(#""transaction":null,"op""#))
    }
  }

  func testSluiceHeartbeatTransactionsHaveNoRecordsButOtherEmptyOnesDo() throws {
    var stream = try makeStream()
    _ = try stream.receive(
      .begin(.init(finalLSN: LSN(0x900), commitTime: 0, xid: 5)), at: LSN(0x880))
    _ = try stream.receive(
      .message(
        .init(
          transactional: true, lsn: LSN(0x890), prefix: ChangeStream.heartbeatPrefix, content: [])),
      at: LSN(0x890))
    XCTAssertEqual(
      try stream.receive(
        .commit(.init(commitLSN: LSN(0x900), endLSN: LSN(0x908), commitTime: 0)), at: LSN(0x908)),
      [])
    // Metrics count transactions with changes only (the BEGIN's position is not a change).
    XCTAssertEqual(stream.takeTally().transactions, 0)
    // Someone else's logical message: a transaction with no events, as Debezium reports it.
    _ = try stream.receive(
      .begin(.init(finalLSN: LSN(0xA00), commitTime: 0, xid: 6)), at: LSN(0x980))
    _ = try stream.receive(
      .message(.init(transactional: true, lsn: LSN(0x990), prefix: "app", content: [])),
      at: LSN(0x990))
    let records = try stream.receive(
      .commit(.init(commitLSN: LSN(0xA00), endLSN: LSN(0xA08), commitTime: 0)), at: LSN(0xA08))
    XCTAssertEqual(
      records.map { text($0.value) },
      [
        #"{"status":"BEGIN","id":"6:2432","event_count":null,"data_collections":null,"ts_ms":946684800000}"#,
        #"{"status":"END","id":"6:2568","event_count":0,"data_collections":[],"ts_ms":946684800000}"#,
      ])
    XCTAssertEqual(
      records.map(\.position.sourcePosition.text),
      ["0000000000000A00-00000000", "0000000000000A00-00000001"])
  }

  func testSnapshotReadsHaveANullBlock() throws {
    var stream = try makeStream()
    _ = try stream.receive(relation(7, "public", "orders"), at: LSN(1))
    let read = try XCTUnwrap(
      try stream.snapshotRead(7, row(3), lsn: LSN(0x300), xid: 4, milliseconds: 7))
    XCTAssertTrue(text(read.value)!.contains(#""transaction":null,"op":"r""#))
  }

  func testEndListsTablesInJavaHashMapOrder() {
    // The orders java.util.HashMap iterates these in (Java 17), including one resize.
    let small = ["public.orders", "public.items", "public.flags"]
    XCTAssertEqual(
      TransactionCounts.javaHashMapOrder(small).map { small[$0] },
      ["public.items", "public.orders", "public.flags"])
    let large = [
      "public.a", "public.b", "inventory.customers", "s.t", "public.dbz_parity", "x.y",
      "public.zeta", "z.z9", "public.aa", "public.ab", "public.ac", "public.ad", "public.ae",
    ]
    XCTAssertEqual(
      TransactionCounts.javaHashMapOrder(large).map { large[$0] },
      [
        "x.y", "public.a", "public.b", "z.z9", "public.zeta", "public.dbz_parity", "public.ae",
        "public.ad", "inventory.customers", "s.t", "public.aa", "public.ac", "public.ab",
      ])
  }

  func testHeartbeatRecordsAtTheIntervalWithoutAPosition() {
    var heartbeat = DebeziumHeartbeat(
      topic: "__debezium-heartbeat.shop", serverName: "shop", interval: .seconds(1))
    let first = heartbeat.due(now: 5000)
    XCTAssertEqual(text(first?.key), #"{"serverName":"shop"}"#)
    XCTAssertEqual(text(first?.value), #"{"ts_ms":5000}"#)
    XCTAssertEqual(first?.topic, "__debezium-heartbeat.shop")
    XCTAssertNil(first?.position)
    XCTAssertNil(heartbeat.due(now: 5999))
    XCTAssertEqual(text(heartbeat.due(now: 6000)?.value), #"{"ts_ms":6000}"#)
  }

  func testHeartbeatRecordsWithSchemasAreInDebeziumsConverterForm() {
    var heartbeat = DebeziumHeartbeat(
      topic: "__debezium-heartbeat.shop", serverName: "shop", schemas: true,
      interval: .seconds(1))
    let first = heartbeat.due(now: 5000)
    // As the real Debezium 3.6 writes them through the JSON converter with schemas.
    XCTAssertEqual(
      text(first?.key),
      #"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"serverName"}],"optional":false,"name":"io.debezium.connector.common.ServerNameKey","version":1},"payload":{"serverName":"shop"}}"#
    )
    XCTAssertEqual(
      text(first?.value),
      #"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat","version":1},"payload":{"ts_ms":5000}}"#
    )
  }

  /// Debezium keys heartbeats by its `topic.prefix` and names their topic and the transaction
  /// topic by it: in the YAML form that is the prefix of a `<prefix>.{schema}.{table}`
  /// template, else the name.
  func testHeartbeatServerNameAndTopicAreTheTopicPrefixOrTheConnectorsName() throws {
    func config(_ topic: String, _ heartbeat: String = "true") throws -> CDCConfig {
      let text = """
        name: shop-cdc
        source: postgres-cdc
        topic: "\(topic)"
        config:
          url: postgresql://u@127.0.0.1/db
          tables: [orders]
          heartbeat_topic: \(heartbeat)
          provide_transaction_metadata: true
        """
      return try CDCConfig(
        definition: try ConnectorDefinition.parse(text: text, file: "shop.yaml", environment: [:]))
    }
    let prefixed = try config("shop.{schema}.{table}")
    XCTAssertEqual(prefixed.serverName, "shop")
    XCTAssertEqual(prefixed.heartbeatTopic, "__debezium-heartbeat.shop")
    XCTAssertEqual(prefixed.transactionMetadata?.topic, "shop.transaction")
    for topic in ["cdc.{table}", "{schema}.{table}", "x.{db}.{schema}.{table}"] {
      let named = try config(topic)
      XCTAssertEqual(named.serverName, "shop-cdc", topic)
      XCTAssertEqual(named.heartbeatTopic, "__debezium-heartbeat.shop-cdc", topic)
      XCTAssertEqual(named.transactionMetadata?.topic, "shop-cdc.transaction", topic)
    }
    // A topic named in heartbeat_topic is taken as written; the key still has the prefix.
    let named = try config("shop.{schema}.{table}", "beats")
    XCTAssertEqual(named.heartbeatTopic, "beats")
    XCTAssertEqual(named.serverName, "shop")
  }

  func testConfigKeys() throws {
    func config(_ lines: String) throws -> CDCConfig {
      let text = """
        name: shop
        source: postgres-cdc
        topic: "shop.{schema}.{table}"
        config:
          url: postgresql://u@127.0.0.1/db
          tables: [orders]
        \(lines)
        """
      return try CDCConfig(
        definition: try ConnectorDefinition.parse(text: text, file: "shop.yaml", environment: [:]))
    }
    let off = try config("")
    XCTAssertNil(off.transactionMetadata)
    XCTAssertNil(off.heartbeatTopic)
    let on = try config("  provide_transaction_metadata: true\n  heartbeat_topic: true")
    XCTAssertEqual(on.transactionMetadata, TransactionMetadata(topic: "shop.transaction"))
    XCTAssertEqual(on.heartbeatTopic, "__debezium-heartbeat.shop")
    let named = try config(
      "  provide_transaction_metadata: true\n  transaction_topic: tx\n  heartbeat_topic: hb.shop")
    XCTAssertEqual(named.transactionMetadata?.topic, "tx")
    XCTAssertEqual(named.heartbeatTopic, "hb.shop")
    XCTAssertThrowsError(
      try config("  provide_transaction_metadata: true\n  transaction_topic: 'a b'")
    ) {
      error in
      XCTAssertEqual((error as? ConfigError)?.line, 8, "\(error)")
    }
    // A topic for records that are off is a mistake, not something to ignore.
    XCTAssertThrowsError(try config("  transaction_topic: tx")) { error in
      XCTAssertEqual((error as? ConfigError)?.line, 7, "\(error)")
      XCTAssertTrue("\(error)".contains("provide_transaction_metadata: true"), "\(error)")
    }
  }

  // MARK: - After an interrupted snapshot

  /// The replay filter of a snapshot whose first segment (LSN 0x500) read `public.orders`
  /// whole and whose last (0xA00) read `inventory.items`: a change committed at 0x900 is in
  /// the rows of the last but not of the first.
  private func replayFilter() throws -> SnapshotReplayFilter {
    var progress = SnapshotProgress(
      base: 0x100,
      tables: [
        QualifiedName(schema: "public", table: "orders"),
        QualifiedName(schema: "inventory", table: "items"),
      ])
    progress.closed = [SnapshotProgress.Claim(lsn: 0x500, wholeTables: 1, otherKeys: nil)]
    progress.open = 0xA00
    progress.done = true
    let definition = try ConnectorDefinition.parse(
      text:
        "name: shop\nsource: postgres-cdc\ntopic: \"shop.{schema}.{table}\"\nconfig:\n  url: postgresql://127.0.0.1:1/shop\n  tables: \"*\"\n",
      file: "shop.yaml", environment: [:])
    return SnapshotReplayFilter(
      progress: progress, control: ControlConnection(config: try CDCConfig(definition: definition)),
      partitionCount: { _ in 1 })
  }

  /// The transaction block of an event's value.
  private func block(_ record: ChangeRecord) throws -> [String: Int] {
    let value = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any])
    let block = try XCTUnwrap(value["transaction"] as? [String: Any])
    return [
      "total": block["total_order"] as? Int ?? -1,
      "collection": block["data_collection_order"] as? Int ?? -1,
    ]
  }

  /// The filter drops the transaction's change of `inventory.items` (the last segment's rows
  /// hold it) and keeps those of `public.orders`: the update that was the fourth event is now
  /// the third, and END counts the three there are, `inventory.items` left out — also when
  /// the transaction's first events were written before a restart, which the filter then
  /// only counts.
  func testTheReplayFilterRenumbersWhatItKeepsOfATransactionItDropsEventsOf() async throws {
    var stream = try makeStream()
    stream.renumberBefore = LSN(0xA00)
    let records = try transaction(&stream)
    XCTAssertEqual(
      records.map { $0.renumbering == nil }, [true, false, false, false, true, false, false],
      "every event and END, not BEGIN or the tombstone")
    let filter = try replayFilter()
    let kept = try await filter.keep(records, stream: stream)
    XCTAssertEqual(
      kept.map(\.topic),
      [
        "shop.transaction", "shop.public.orders", "shop.public.orders", "shop.public.orders",
        "shop.transaction",
      ])
    XCTAssertEqual(filter.dropped, 2, "the delete and its tombstone")
    XCTAssertEqual(kept[0], records[0], "BEGIN as it was")
    XCTAssertEqual(try block(kept[1]), ["total": 1, "collection": 1])
    XCTAssertEqual(try block(kept[2]), ["total": 2, "collection": 2])
    XCTAssertEqual(try block(kept[3]), ["total": 3, "collection": 3], "was the fourth")
    // Rendered again with the new block and nothing else changed.
    XCTAssertEqual(
      text(kept[3].value)?.replacingOccurrences(of: #""total_order":3"#, with: #""total_order":4"#),
      text(records[5].value))
    XCTAssertEqual(kept[3].position, records[5].position)
    XCTAssertEqual(
      text(kept[4].value),
      #"{"status":"END","id":"77:2312","event_count":3,"data_collections":[{"data_collection":"public.orders","event_count":3}],"ts_ms":946684801500}"#
    )
    XCTAssertEqual(kept[4].position, records[6].position)
    XCTAssertEqual(kept[4].key, records[6].key)

    // After a restart that found the first three events written: the stream hands them to
    // the filter to count, and the rest come out the same.
    var again = try makeStream()
    again.renumberBefore = LSN(0xA00)
    var replayed = try transaction(&again)
    for i in 1...3 { replayed[i].written = true }
    let restarted = try replayFilter()
    let rest = try await restarted.keep(Array(replayed[1...]), stream: again)
    XCTAssertEqual(rest.map(\.value), [kept[3].value, kept[4].value])
    XCTAssertEqual(restarted.dropped, 1, "the tombstone; the delete was counted before")
    // Every record has room for one: a pointer, so streaming's records stay as small.
    XCTAssertEqual(MemoryLayout<TransactionRenumbering?>.size, MemoryLayout<Int>.size)

  }
}
