import SluiceCore
import XCTest

final class RecordJSONTests: XCTestCase {
  func testValidJSONIsEmbeddedTextIsQuotedBinaryIsBase64() throws {
    let record = Record(
      topic: "t", partition: 2, offset: 7, timestamp: 1000, key: Array("{\"id\": 1}".utf8),
      value: [0xff, 0x00, 0x10],
      headers: [RecordHeader("h", "v\"1"), RecordHeader(name: "bin", value: [0xfe])])
    let line = RecordJSON.line(for: record)
    XCTAssertEqual(
      line,
      #"{"topic":"t","partition":2,"offset":7,"timestamp":1000,"key":{"id": 1},"value_b64":"/wAQ","headers":{"h":"v\"1","bin":{"b64":"/g=="}}}"#
    )
    let text = RecordJSON.line(
      for: Record(
        topic: "t", partition: 0, offset: 0, timestamp: 0, key: nil,
        value: Array("plain\ttext".utf8)))
    XCTAssertTrue(text.contains(#""key":null,"value":"plain\ttext""#), text)
    XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(text.utf8)))
  }

  func testMultiLineJSONValueStaysOnOneLine() {
    let record = Record(
      topic: "t", partition: 0, offset: 0, timestamp: 0, key: nil,
      value: Array("{\n \"a\": [1,\n2]\n}".utf8))
    let line = RecordJSON.line(for: record)
    XCTAssertFalse(line.contains("\n"))
    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    XCTAssertEqual((object?["value"] as? [String: Any])?["a"] as? [Int], [1, 2])
  }

  /// The exact line for newlines between JSON tokens (a CRLF is one space), escapes in names,
  /// and control characters in text values: `sluice consume` and file sinks are read back.
  func testOneLineFormsAreByteExact() {
    let record = Record(
      topic: "t\"q", partition: 1, offset: -1, timestamp: Int64.max, key: Array("k\u{1}é".utf8),
      value: Array("{\r\n\"a\":\r[1,\n2]\r\n}".utf8), headers: [RecordHeader(name: "n\n", value: nil)])
    XCTAssertEqual(
      RecordJSON.line(for: record),
      #"{"topic":"t\"q","partition":1,"offset":-1,"timestamp":9223372036854775807,"key":"k\u0001é","value":{ "a": [1, 2] },"headers":{"n\n":null}}"#
    )
    XCTAssertEqual(RecordJSON.bytes(for: record), Array(RecordJSON.line(for: record).utf8))
  }

  func testValidatorAcceptsJSONAndRejectsTheRest() {
    for valid in [
      "0", "-1.5e3", "\"a\\u00e9\"", "[]", "{}", " {\"a\":[true,false,null]} ", "[1,{\"b\":\"c\"}]",
    ] {
      XCTAssertTrue(JSONValidator.isValid(Array(valid.utf8)), valid)
    }
    for invalid in [
      "", "01", "1.", "{a:1}", "[1,]", "\"unterminated", "tru", "{\"a\":1}x", "hello", "\"\\x\"",
    ] {
      XCTAssertFalse(JSONValidator.isValid(Array(invalid.utf8)), invalid)
    }
  }
}
