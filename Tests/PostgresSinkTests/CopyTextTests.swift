import SluiceCore
import XCTest

@testable import PostgresSinkConnector

/// JSON values to the text a column's type reads, by the column's encoding, without a server:
/// Debezium's Bits, Point and hstore maps, and arrays whose elements are Debezium-encoded.
final class CopyTextTests: XCTestCase {
  func testBitsAreDecodedAndBitTextPassesThrough() {
    let bit3 = TableColumn.Encoding.bits(length: 3, varying: false)
    XCTAssertEqual(text(#""BQ==""#, bit3), "101")
    XCTAssertEqual(text(#""101""#, bit3), "101")
    XCTAssertEqual(text("true", .bits(length: 1, varying: false)), "1")
    XCTAssertEqual(text("false", .bits(length: 1, varying: false)), "0")
    let varying = TableColumn.Encoding.bits(length: nil, varying: true)
    XCTAssertEqual(text(#""AgE=""#, varying), "100000010")
    XCTAssertEqual(text(#""""#, varying), "0")
    XCTAssertEqual(text(#""0011""#, .bits(length: 8, varying: true)), "0011")
  }

  func testPointsBecomePointText() {
    XCTAssertEqual(
      text(#"{"x":1.5,"y":-2.25,"wkb":"AQEAAAAAAAAAAAD4PwAAAAAAAADA","srid":null}"#, .point),
      "(1.5,-2.25)")
    XCTAssertEqual(text(#"{"x":"NaN","y":1e300}"#, .point), "(NaN,1e300)")
    XCTAssertEqual(text(#"{"wkb":"AQEAAAAAAAAAAAD4PwAAAAAAAADA"}"#, .point), "(1.5,-2.0)")
    XCTAssertEqual(text(#""(3,4)""#, .point), "(3,4)")
  }

  func testMapsAndJSONTextBecomeHstoreText() {
    XCTAssertEqual(
      text(#"{"a":"1","b":null,"q\"":"x\\y"}"#, .hstore), #""a"=>"1", "b"=>NULL, "q\""=>"x\\y""#)
    // json mode: a string holding the JSON object.
    XCTAssertEqual(text(#""{\"a\": \"1\"}""#, .hstore), #""a"=>"1""#)
    // hstore's own text passes through.
    XCTAssertEqual(text(#""\"a\"=>\"1\"""#, .hstore), #""a"=>"1""#)
  }

  func testArrayElementsAreDecodedByTheElementsEncoding() {
    XCTAssertEqual(
      text(#"["AeJA","nA==",null]"#, .array(of: .numeric(scale: 2))), #"{"1234.56","-1.00",NULL}"#)
    XCTAssertEqual(
      text(#"[{"scale":2,"value":"AJY="}]"#, .array(of: .numeric(scale: nil))), #"{"1.50"}"#)
    XCTAssertEqual(text("[20782,-1]", .array(of: .date)), #"{"2026-11-25","1969-12-31"}"#)
    XCTAssertEqual(text("[36000500]", .array(of: .time(millis: true))), #"{"10:00:00.500000"}"#)
    XCTAssertEqual(
      text("[[1795600800500001],[0]]", .array(of: .timestamp(millis: false))),
      #"{{"2026-11-25 10:00:00.500001"},{"1970-01-01 00:00:00.000000"}}"#)
    XCTAssertEqual(text("[1000000]", .array(of: .interval)), #"{"1000000 microseconds"}"#)
    XCTAssertEqual(text(#"["AAEC/w=="]"#, .array(of: .bytea)), #"{"\\x000102ff"}"#)
    XCTAssertEqual(
      text(#"["BQ==","011"]"#, .array(of: .bits(length: 3, varying: false))), #"{"101","011"}"#)
    XCTAssertEqual(text(#"[{"x":1,"y":2}]"#, .array(of: .point)), #"{"(1,2)"}"#)
    // Plain elements as before: numbers bare, strings quoted and escaped.
    XCTAssertEqual(text(#"[[1,2],[3,4]]"#, .array(of: .text)), "{{1,2},{3,4}}")
    XCTAssertEqual(text(#"["a b","c\"d",null]"#, .array(of: .text)), #"{"a b","c\"d",NULL}"#)
  }

  func testACopyRowEscapesWhatTheArrayLiteralEscapes() {
    var copy = CopyText()
    copy.appendRow(
      [value(#"["AAE="]"#), value(#"{"k":"a\tb"}"#)],
      columns: [
        TableColumn(name: "raw", type: "bytea[]", encoding: .array(of: .bytea)),
        TableColumn(name: "tags", type: "hstore", encoding: .hstore),
      ])
    // The array literal's `\\x0001` has its backslashes doubled again for COPY; the tab is \t.
    XCTAssertEqual(
      String(decoding: copy.bytes, as: UTF8.self), #"{"\\\\x0001"}"# + "\t" + #""k"=>"a\tb""# + "\n"
    )
  }

  // MARK: - Fixtures

  private func value(_ json: String) -> FieldValue {
    let bytes = Array(json.utf8)
    return FieldValue(
      column: "c", bytes: bytes, range: 0..<bytes.count, kind: JSONObjectReader.kind(of: bytes[0]))
  }

  private func text(_ json: String, _ encoding: TableColumn.Encoding) -> String {
    String(decoding: CopyText.text(of: value(json), for: encoding), as: UTF8.self)
  }
}
