import Foundation
import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// The pgoutput state machine without a server: messages in, Debezium records and the LSN that
/// may be confirmed out.
final class ChangeStreamTests: XCTestCase {
  typealias M = PgOutputMessage

  func makeStream(tombstones: Bool = true) throws -> ChangeStream {
    var stream = ChangeStream(
      settings: .init(
        connectorName: "shop", database: "db", topic: try TopicTemplate("shop.{schema}.{table}"),
        tombstonesOnDelete: tombstones),
      confirmed: LSN(100))
    stream.now = { 42 }
    return stream
  }

  func relation(_ oid: UInt32 = 7, identity: Character = "d") -> M {
    .relation(
      M.Relation(
        oid: oid, schema: "public", name: "orders", replicaIdentity: identity.asciiValue!,
        columns: [
          .init(name: "id", typeOID: 23, typeModifier: -1, isKey: identity != "f" || true),
          .init(name: "note", typeOID: 25, typeModifier: -1, isKey: identity == "f"),
        ]))
  }

  func text(_ s: String) -> M.TupleValue { .text(Array(s.utf8)) }

  func json(_ bytes: [UInt8]?) -> NSDictionary? {
    bytes.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? NSDictionary }
  }

  func testInsertBecomesACreateEventWithKeyPositionAndSource() throws {
    var stream = try makeStream()
    _ = try stream.receive(relation(), at: LSN(1))
    _ = try stream.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)), at: LSN(2))
    let records = try stream.receive(
      .insert(relation: 7, new: [text("1"), text("a \"b\"")]), at: LSN(0x400))
    XCTAssertEqual(records.count, 1)
    let record = records[0]
    XCTAssertEqual(record.topic, "shop.public.orders")
    XCTAssertEqual(String(decoding: record.key!, as: UTF8.self), #"{"id":1}"#)
    XCTAssertEqual(
      String(decoding: record.value!, as: UTF8.self),
      #"{"before":null,"after":{"id":1,"note":"a \"b\""},"source":{"version":"sluice","connector":"postgresql","name":"shop","ts_ms":946684800000,"snapshot":"false","db":"db","sequence":"[null,\"1024\"]","ts_us":946684800000000,"ts_ns":946684800000000000,"schema":"public","table":"orders","txId":9,"lsn":1024,"xmin":null,"origin":null,"origin_lsn":null},"transaction":null,"op":"c","ts_ms":42,"ts_us":42000,"ts_ns":42000000}"#
    )
    XCTAssertEqual(record.position.sourcePosition.text, "0000000000000500-00000000")
  }

  func testPositionsGrowInCommitOrderAndTheConfirmableLSNWaitsForTheCommit() throws {
    var stream = try makeStream()
    _ = try stream.receive(relation(), at: LSN(1))
    var positions: [SourcePosition] = []
    var confirmable = LSN(100)
    for (n, commit) in [UInt64(0x900), 0x1000, 0x10000].enumerated() {
      _ = try stream.receive(
        .begin(.init(finalLSN: LSN(commit), commitTime: 0, xid: UInt32(n))), at: LSN(commit - 1))
      for i in 0..<20 {
        positions += try stream.receive(
          .insert(relation: 7, new: [text("\(i)"), .null]), at: LSN(commit - 1)
        )
        .map(\.position.sourcePosition)
      }
      XCTAssertEqual(stream.confirmableLSN, confirmable, "changes alone confirm nothing")
      // A keepalive inside a transaction must not move the confirmable LSN past it.
      stream.keepalive(walEnd: LSN(commit + 0x50))
      XCTAssertLessThan(stream.confirmableLSN, LSN(commit))
      _ = try stream.receive(
        .commit(.init(commitLSN: LSN(commit), endLSN: LSN(commit + 8), commitTime: 0)),
        at: LSN(commit))
      XCTAssertEqual(stream.confirmableLSN, LSN(commit + 8))
      // One between transactions does.
      stream.keepalive(walEnd: LSN(commit + 0x20))
      XCTAssertEqual(stream.confirmableLSN, LSN(commit + 0x20))
      stream.keepalive(walEnd: LSN(commit + 0x10))
      XCTAssertEqual(stream.confirmableLSN, LSN(commit + 0x20), "never moves back")
      confirmable = stream.confirmableLSN
    }
    XCTAssertEqual(positions.count, 60)
    XCTAssertEqual(positions, positions.sorted(), "byte order of positions is commit order")
    XCTAssertEqual(Set(positions).count, 60)
    XCTAssertEqual(ChangePosition(positions[25])?.index, 5)
  }

  func testDeleteWithDefaultIdentityHasEveryColumnAsBeforeNullOutsideTheKey() throws {
    var stream = try makeStream()
    _ = try stream.receive(relation(), at: LSN(1))
    _ = try stream.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)), at: LSN(2))
    let records = try stream.receive(
      .delete(relation: 7, old: .key([text("5"), .null])), at: LSN(3))
    XCTAssertEqual(records.count, 2)
    XCTAssertEqual(json(records[0].value)?["before"] as? NSDictionary, ["id": 5, "note": NSNull()])
    XCTAssertTrue(json(records[0].value)?["after"] is NSNull)
    XCTAssertEqual(json(records[0].value)?["op"] as? String, "d")
    XCTAssertEqual(records[1].key, records[0].key)
    XCTAssertNil(records[1].value)
    XCTAssertLessThan(records[0].position, records[1].position)

    var quiet = try makeStream(tombstones: false)
    _ = try quiet.receive(relation(), at: LSN(1))
    _ = try quiet.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)), at: LSN(2))
    XCTAssertEqual(
      try quiet.receive(.delete(relation: 7, old: .key([text("5"), .null])), at: LSN(3)).count, 1)
  }

  func testUpdateFillsUnchangedToastFromAFullOldRowElseUsesThePlaceholder() throws {
    var stream = try makeStream()
    stream.primaryKeys[7] = ["id"]
    _ = try stream.receive(relation(identity: "f"), at: LSN(1))
    _ = try stream.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)), at: LSN(2))
    let full = try stream.receive(
      .update(
        relation: 7, old: .full([text("1"), text("big")]), new: [text("1"), .unchangedToast]),
      at: LSN(3))
    XCTAssertEqual(
      String(decoding: full[0].key!, as: UTF8.self), #"{"id":1}"#, "key from the catalog")
    XCTAssertEqual(json(full[0].value)?["before"] as? NSDictionary, ["id": 1, "note": "big"])
    XCTAssertEqual(json(full[0].value)?["after"] as? NSDictionary, ["id": 1, "note": "big"])

    var plain = try makeStream()
    _ = try plain.receive(relation(), at: LSN(1))
    _ = try plain.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)), at: LSN(2))
    let partial = try plain.receive(
      .update(relation: 7, old: nil, new: [text("1"), .unchangedToast]), at: LSN(3))
    XCTAssertTrue(json(partial[0].value)?["before"] is NSNull)
    XCTAssertEqual(
      json(partial[0].value)?["after"] as? NSDictionary,
      ["id": 1, "note": "__debezium_unavailable_value"])
  }

  func testAKeyChangeBecomesDeleteTombstoneAndCreate() throws {
    var stream = try makeStream()
    _ = try stream.receive(relation(), at: LSN(1))
    _ = try stream.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)), at: LSN(2))
    let records = try stream.receive(
      .update(relation: 7, old: .key([text("1"), .null]), new: [text("2"), text("x")]), at: LSN(3))
    XCTAssertEqual(records.map { json($0.value)?["op"] as? String }, ["d", nil, "c"])
    XCTAssertEqual(
      records.map { String(decoding: $0.key!, as: UTF8.self) },
      [#"{"id":1}"#, #"{"id":1}"#, #"{"id":2}"#])
  }

  func testTruncateHasNoKeyAndARelationChangeIsFollowed() throws {
    var stream = try makeStream()
    _ = try stream.receive(relation(), at: LSN(1))
    _ = try stream.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)), at: LSN(2))
    let truncate = try stream.receive(
      .truncate(relations: [7], cascade: false, restartIdentity: false), at: LSN(3))
    XCTAssertNil(truncate[0].key)
    XCTAssertEqual(json(truncate[0].value)?["op"] as? String, "t")
    // A column added: the next Relation message describes three columns.
    _ = try stream.receive(
      .relation(
        M.Relation(
          oid: 7, schema: "public", name: "orders", replicaIdentity: UInt8(ascii: "d"),
          columns: [
            .init(name: "id", typeOID: 23, typeModifier: -1, isKey: true),
            .init(name: "note", typeOID: 25, typeModifier: -1, isKey: false),
            .init(name: "qty", typeOID: 20, typeModifier: -1, isKey: false),
          ])), at: LSN(4))
    let insert = try stream.receive(
      .insert(relation: 7, new: [text("3"), .null, text("-4")]), at: LSN(5))
    XCTAssertEqual(
      json(insert[0].value)?["after"] as? NSDictionary, ["id": 3, "note": NSNull(), "qty": -4])
  }

  func testMalformedInputIsAnErrorNotACrash() throws {
    var stream = try makeStream()
    XCTAssertThrowsError(try stream.receive(.insert(relation: 99, new: []), at: LSN(1)))
    _ = try stream.receive(relation(), at: LSN(1))
    XCTAssertThrowsError(
      try stream.receive(.insert(relation: 7, new: [text("1")]), at: LSN(1)),
      "outside a transaction or too few values")
    _ = try stream.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 0, xid: 9)), at: LSN(2))
    XCTAssertThrowsError(try stream.receive(.insert(relation: 7, new: [text("1")]), at: LSN(1)))
    for bytes: [UInt8] in [
      [], [UInt8(ascii: "I"), 0, 0], [UInt8(ascii: "R"), 0, 0, 0, 7, 65], [UInt8(ascii: "Z")],
      [UInt8(ascii: "I"), 0, 0, 0, 7, UInt8(ascii: "N"), 0, 1, UInt8(ascii: "t"), 0x7f, 0, 0, 0],
    ] {
      XCTAssertThrowsError(try PgOutputMessage.decode(bytes))
    }
    XCTAssertThrowsError(try ReplicationMessage.decode([UInt8(ascii: "w"), 1, 2]))
  }
}

/// The tally the metrics read: events by op as the stream hands them out, transactions with
/// changes (not heartbeats), and the last commit time.
final class ChangeTallyTests: XCTestCase {
  typealias M = PgOutputMessage

  func testEventsByOpTransactionsAndTheLastCommitTime() throws {
    var stream = ChangeStream(
      settings: .init(
        connectorName: "shop", database: "db", topic: try TopicTemplate("t"),
        tombstonesOnDelete: true),
      confirmed: LSN(100))
    let text: (String) -> M.TupleValue = { .text(Array($0.utf8)) }
    _ = try stream.receive(
      .relation(
        M.Relation(
          oid: 7, schema: "public", name: "orders", replicaIdentity: UInt8(ascii: "d"),
          columns: [
            .init(name: "id", typeOID: 23, typeModifier: -1, isKey: true),
            .init(name: "note", typeOID: 25, typeModifier: -1, isKey: false),
          ])), at: LSN(1))
    _ = try stream.receive(
      .begin(.init(finalLSN: LSN(0x500), commitTime: 1_000_000, xid: 9)), at: LSN(2))
    _ = try stream.receive(.insert(relation: 7, new: [text("1"), .null]), at: LSN(3))
    _ = try stream.receive(.insert(relation: 7, new: [text("2"), .null]), at: LSN(3))
    _ = try stream.receive(
      .update(relation: 7, old: nil, new: [text("1"), text("x")]), at: LSN(4))
    // A key change counts as the delete and the create it becomes.
    _ = try stream.receive(
      .update(relation: 7, old: .key([text("2"), .null]), new: [text("3"), .null]), at: LSN(4))
    _ = try stream.receive(.delete(relation: 7, old: .key([text("1"), .null])), at: LSN(5))
    _ = try stream.receive(
      .truncate(relations: [7], cascade: false, restartIdentity: false), at: LSN(6))
    _ = try stream.receive(
      .commit(.init(commitLSN: LSN(0x500), endLSN: LSN(0x508), commitTime: 1_000_000)), at: LSN(7))
    // A heartbeat: a transaction with nothing captured.
    _ = try stream.receive(
      .begin(.init(finalLSN: LSN(0x600), commitTime: 2_000_000, xid: 10)), at: LSN(8))
    _ = try stream.receive(
      .commit(.init(commitLSN: LSN(0x600), endLSN: LSN(0x608), commitTime: 2_000_000)), at: LSN(9))
    let tally = stream.takeTally()
    XCTAssertEqual(
      tally,
      ChangeTally(
        creates: 3, updates: 1, deletes: 2, truncates: 1, transactions: 1,
        lastCommitMilliseconds: PostgresEpoch.milliseconds(fromPostgres: 2_000_000)))
    XCTAssertEqual(stream.takeTally(), ChangeTally(), "taking the tally starts a new one")
  }
}
