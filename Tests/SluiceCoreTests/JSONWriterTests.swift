import Foundation
import SluiceCore
import XCTest

/// The one JSON writer: RFC 8259 escaping (and nothing more), numbers as Swift prints them.
final class JSONWriterTests: XCTestCase {
  private func written(_ write: (inout JSONWriter) -> Void) -> String {
    var out = JSONWriter()
    write(&out)
    return out.text
  }

  func testEscapesQuoteBackslashAndEveryControlCharacter() {
    XCTAssertEqual(written { $0.string("a\"b\\c") }, #""a\"b\\c""#)
    XCTAssertEqual(written { $0.string("\n\r\t") }, #""\n\r\t""#)
    XCTAssertEqual(written { $0.string("\u{0}\u{1}\u{8}\u{c}\u{b}\u{1f}") }, #""\u0000\u0001\u0008\u000c\u000b\u001f""#)
    // The first character past the controls, DEL and `/` are copied as they are.
    XCTAssertEqual(written { $0.string(" \u{7f}/") }, "\" \u{7f}/\"")
    for scalar in 0..<0x20 {
      let text = "x" + String(Unicode.Scalar(UInt8(scalar))) + "y"
      let json = written { $0.string(text) }
      XCTAssertFalse(json.utf8.contains { $0 < 0x20 }, "U+\(scalar) left raw in \(json)")
      XCTAssertEqual(
        try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
          as? String, text)
    }
  }

  func testCopiesNonASCIIAsUTF8() {
    let text = "é 日本 🦆 \u{2028} \u{FEFF}"
    XCTAssertEqual(written { $0.string(text) }, "\"\(text)\"")
    XCTAssertEqual(JSONValue.parse(Array(written { $0.string(text) }.utf8)), .string(text))
  }

  func testStringsFromBytesOfAnyCollection() {
    let bytes = Array("a\"\u{1}é".utf8)
    let expected = #""a\"\u0001é""#
    XCTAssertEqual(written { $0.string(utf8: bytes) }, expected)
    XCTAssertEqual(written { $0.string(utf8: bytes[...]) }, expected)
    // A collection without contiguous storage takes the copying path.
    XCTAssertEqual(written { $0.string(utf8: bytes.lazy.map { $0 }) }, expected)
    XCTAssertEqual(
      written {
        $0.byte("\"")
        $0.stringContent(utf8: Array("a\n".utf8))
        $0.stringContent(utf8: Array("\"b".utf8))
        $0.byte("\"")
      }, #""a\n\"b""#)
  }

  func testIntegersAsDecimalDigits() {
    for value: Int64 in [0, 7, -7, 10, -10, 1_000_000, .max, .min] {
      XCTAssertEqual(written { $0.number(value) }, "\(value)")
    }
    for value: UInt64 in [0, 9, 10, 99, 100, .max] {
      XCTAssertEqual(written { $0.number(value) }, "\(value)")
    }
  }

  func testDoublesAsSwiftPrintsThemAndNullForNaNAndInfinities() {
    XCTAssertEqual(written { $0.number(1.5) }, "1.5")
    XCTAssertEqual(written { $0.number(2.0) }, "2.0")
    XCTAssertEqual(written { $0.number(0.1) }, "0.1")
    XCTAssertEqual(written { $0.number(1e300) }, "1e+300")
    XCTAssertEqual(written { $0.number(-2.5e-8) }, "-2.5e-08")
    XCTAssertEqual(written { $0.number(Double.nan) }, "null")
    XCTAssertEqual(written { $0.number(Double.infinity) }, "null")
    XCTAssertEqual(written { $0.number(-Double.infinity) }, "null")
  }

  func testKeysLiteralsAndQuoted() {
    let json = written {
      $0.byte("{")
      $0.key("a\"")
      $0.bool(true)
      $0.raw(",")
      $0.key("n")
      $0.null()
      $0.raw(Array(",\"f\":false".utf8))
      $0.byte("}")
    }
    XCTAssertEqual(json, #"{"a\"":true,"n":null,"f":false}"#)
    XCTAssertEqual(JSONWriter.quoted("tab\there"), #""tab\there""#)
  }

  /// ``JSONValue`` writes through the writer: members in their order, the same escaping.
  func testJSONValueText() {
    let value: JSONValue = .object([
      "z": .array([.int(-1), .double(0.5), .bool(false), .null]), "a": .string("q\"\u{2}"),
    ])
    XCTAssertEqual(value.jsonText, #"{"z":[-1,0.5,false,null],"a":"q\"\u0002"}"#)
    XCTAssertEqual(value.jsonBytes, Array(value.jsonText.utf8))
    XCTAssertEqual(JSONValue.parse(value.jsonBytes), value)
  }
}
