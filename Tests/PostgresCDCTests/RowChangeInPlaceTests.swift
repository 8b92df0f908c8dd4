import Foundation
import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// The stream's hot path reads inserts, updates and deletes in place from the message bytes;
/// it must make exactly the records the decoded messages make.
final class RowChangeInPlaceTests: XCTestCase {
  func be(_ value: UInt64, _ size: Int) -> [UInt8] {
    (0..<size).reversed().map { UInt8(truncatingIfNeeded: value >> UInt64($0 * 8)) }
  }

  /// A pgoutput tuple: `nil` is NULL, `"\u{0}u"` an unchanged TOAST value, else text.
  func tuple(_ values: [String?]) -> [UInt8] {
    var out = be(UInt64(values.count), 2)
    for value in values {
      switch value {
      case nil: out += [UInt8(ascii: "n")]
      case "\u{0}u": out += [UInt8(ascii: "u")]
      case let text?: out += [UInt8(ascii: "t")] + be(UInt64(text.utf8.count), 4) + Array(text.utf8)
      }
    }
    return out
  }

  func makeStream(identity: Character) throws -> ChangeStream {
    var stream = ChangeStream(
      settings: .init(
        connectorName: "shop\"1", database: "db", topic: try TopicTemplate("shop.{table}"),
        tombstonesOnDelete: true),
      confirmed: LSN(100))
    stream.now = { 42 }
    stream.primaryKeys[7] = ["id"]
    _ = try stream.receive(
      .relation(
        .init(
          oid: 7, schema: "public", name: "orders", replicaIdentity: identity.asciiValue!,
          columns: [
            .init(name: "id", typeOID: 20, typeModifier: -1, isKey: true),
            .init(name: "note", typeOID: 25, typeModifier: -1, isKey: false),
            .init(name: "at", typeOID: 1184, typeModifier: -1, isKey: false),
            .init(name: "tags", typeOID: 1009, typeModifier: -1, isKey: false),
          ])), at: LSN(1))
    _ = try stream.receive(.begin(.init(finalLSN: LSN(0x500), commitTime: 5, xid: 9)), at: LSN(2))
    return stream
  }

  func testRowChangesReadInPlaceMakeTheRecordsOfTheDecodedMessages() throws {
    let row1: [String?] = [
      "1", "a \"quoted\"\n\u{1} note", "2026-11-25 10:00:00.5+00", "{a,\"b c\"}",
    ]
    let row2: [String?] = ["2", "\u{0}u", "2026-11-25 10:00:00+05:30", nil]
    let messages: [(Character, [UInt8])] = [
      ("d", [UInt8(ascii: "I")] + be(7, 4) + [UInt8(ascii: "N")] + tuple(row1)),
      ("d", [UInt8(ascii: "U")] + be(7, 4) + [UInt8(ascii: "N")] + tuple(row2)),
      (
        "d",
        [UInt8(ascii: "U")] + be(7, 4) + [UInt8(ascii: "K")] + tuple(["1", nil, nil, nil])
          + [UInt8(ascii: "N")] + tuple(row2)
      ),
      (
        "f",
        [UInt8(ascii: "U")] + be(7, 4) + [UInt8(ascii: "O")] + tuple(row1) + [UInt8(ascii: "N")]
          + tuple(["1", "\u{0}u", nil, "\u{0}u"])
      ),
      ("d", [UInt8(ascii: "D")] + be(7, 4) + [UInt8(ascii: "K")] + tuple(["2", nil, nil, nil])),
      ("f", [UInt8(ascii: "D")] + be(7, 4) + [UInt8(ascii: "O")] + tuple(row1)),
    ]
    for (identity, bytes) in messages {
      var decoded = try makeStream(identity: identity)
      var inPlace = try makeStream(identity: identity)
      let expected = try decoded.receive(try PgOutputMessage.decode(bytes), at: LSN(0x400))
      // A slice that does not start at 0, as the payload of a CopyData message does not.
      let framed = [UInt8](repeating: 0xEE, count: 25) + bytes
      let got = try XCTUnwrap(inPlace.receiveRowChange(framed[25...], at: LSN(0x400)))
      XCTAssertFalse(expected.isEmpty)
      XCTAssertEqual(got, expected, "message \(Character(Unicode.Scalar(bytes[0])))")
      XCTAssertEqual(inPlace.confirmableLSN, decoded.confirmableLSN)
    }
  }

  func testOtherMessagesAreLeftToTheDecoder() throws {
    var stream = try makeStream(identity: "d")
    let commit = [UInt8(ascii: "C"), 0] + be(0x500, 8) + be(0x508, 8) + be(7, 8)
    XCTAssertNil(try stream.receiveRowChange(commit[...], at: LSN(3)))
  }

  func testTruncatedRowChangesAreErrors() throws {
    var stream = try makeStream(identity: "d")
    let insert = [UInt8(ascii: "I")] + be(7, 4) + [UInt8(ascii: "N")] + tuple(["1", "x", nil, nil])
    for length in 1..<insert.count {
      XCTAssertThrowsError(try stream.receiveRowChange(insert[..<length], at: LSN(3)))
    }
    let wide = [UInt8(ascii: "I")] + be(7, 4) + [UInt8(ascii: "N")] + tuple(["1", "x"])
    XCTAssertThrowsError(try stream.receiveRowChange(wide[...], at: LSN(3)))
  }

  func testPositionTextIsFixedWidthUppercaseHex() {
    XCTAssertEqual(
      ChangePosition(commitLSN: LSN(0x16_B374_D848), index: 0xAB).sourcePosition.text,
      SourcePosition.hex(0x16_B374_D848) + "-" + SourcePosition.hex(0xAB, width: 8))
    XCTAssertEqual(
      ChangePosition(commitLSN: LSN(.max), index: .max).sourcePosition.text,
      "FFFFFFFFFFFFFFFF-FFFFFFFF")
  }

  func testNumbersAreWrittenAsSwiftPrintsThem() {
    for value: Int64 in [0, 7, -1, 1_234_567_890_123, .max, .min] {
      var out = JSONWriter()
      out.number(value)
      XCTAssertEqual(String(decoding: out.bytes, as: UTF8.self), "\(value)")
    }
    var out = JSONWriter()
    out.number(UInt64.max)
    XCTAssertEqual(String(decoding: out.bytes, as: UTF8.self), "\(UInt64.max)")
  }
}
