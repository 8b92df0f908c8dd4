import Foundation
import XCTest

@testable import PostgresCDCConnector

/// Byte-level encodings of the replication protocol and pgoutput.
final class ProtocolTests: XCTestCase {
  func be(_ value: UInt64, _ size: Int) -> [UInt8] {
    (0..<size).reversed().map { UInt8(truncatingIfNeeded: value >> UInt64($0 * 8)) }
  }

  func testStandbyStatusUpdateReportsTheDurableLSNAsWrittenFlushedAndApplied() {
    let bytes = StandbyStatusUpdate(
      durable: LSN(0x1_0000_0020), clientTime: 5, replyRequested: true
    ).bytes
    XCTAssertEqual(
      bytes,
      [UInt8(ascii: "r")] + be(0x1_0000_0020, 8) + be(0x1_0000_0020, 8) + be(0x1_0000_0020, 8)
        + be(5, 8) + [1])
  }

  func testXLogDataAndKeepaliveDecode() throws {
    let w = try ReplicationMessage.decode(
      [UInt8(ascii: "w")] + be(10, 8) + be(20, 8) + be(30, 8) + [1, 2])
    XCTAssertEqual(w, .xLogData(walStart: LSN(10), walEnd: LSN(20), sendTime: 30, payload: [1, 2]))
    let k = try ReplicationMessage.decode([UInt8(ascii: "k")] + be(99, 8) + be(1, 8) + [1])
    XCTAssertEqual(k, .keepalive(walEnd: LSN(99), sendTime: 1, replyRequested: true))
  }

  func testPgOutputMessagesDecode() throws {
    let relation: [UInt8] =
      [UInt8(ascii: "R")] + be(16384, 4) + Array("public\0t\0".utf8) + [UInt8(ascii: "f")]
      + be(2, 2)
      + [1] + Array("id\0".utf8) + be(23, 4) + be(0xFFFF_FFFF, 4)
      + [0] + Array("v\0".utf8) + be(25, 4) + be(0xFFFF_FFFF, 4)
    XCTAssertEqual(
      try PgOutputMessage.decode(relation),
      .relation(
        .init(
          oid: 16384, schema: "public", name: "t", replicaIdentity: UInt8(ascii: "f"),
          columns: [
            .init(name: "id", typeOID: 23, typeModifier: -1, isKey: true),
            .init(name: "v", typeOID: 25, typeModifier: -1, isKey: false),
          ])))
    let update: [UInt8] =
      [UInt8(ascii: "U")] + be(16384, 4) + [UInt8(ascii: "O")] + be(2, 2) + [UInt8(ascii: "t")]
      + be(1, 4) + [49]
      + [UInt8(ascii: "n")] + [UInt8(ascii: "N")] + be(2, 2) + [UInt8(ascii: "t")] + be(1, 4) + [50]
      + [UInt8(ascii: "u")]
    XCTAssertEqual(
      try PgOutputMessage.decode(update),
      .update(
        relation: 16384, old: .full([.text([49]), .null]), new: [.text([50]), .unchangedToast]))
    let begin = [UInt8(ascii: "B")] + be(0x500, 8) + be(7, 8) + be(3, 4)
    XCTAssertEqual(
      try PgOutputMessage.decode(begin), .begin(.init(finalLSN: LSN(0x500), commitTime: 7, xid: 3)))
    let commit = [UInt8(ascii: "C"), 0] + be(0x500, 8) + be(0x508, 8) + be(7, 8)
    XCTAssertEqual(
      try PgOutputMessage.decode(commit),
      .commit(.init(commitLSN: LSN(0x500), endLSN: LSN(0x508), commitTime: 7)))
    let truncate = [UInt8(ascii: "T")] + be(2, 4) + [3] + be(1, 4) + be(2, 4)
    XCTAssertEqual(
      try PgOutputMessage.decode(truncate),
      .truncate(relations: [1, 2], cascade: true, restartIdentity: true))
  }

  func testLSNTextRoundTrips() {
    XCTAssertEqual(LSN("16/B374D848")?.value, 0x16_B374_D848)
    XCTAssertEqual(LSN(0x16_B374_D848).description, "16/B374D848")
    XCTAssertNil(LSN("nonsense"))
  }
}
