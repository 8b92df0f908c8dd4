import Foundation
import XCTest

@testable import PostgresCDCConnector

/// Text forms PostgreSQL sends (ISO DateStyle, UTC, hex bytea) and the JSON written for them.
final class ValueConverterTests: XCTestCase {
  func json(_ text: String, _ oid: UInt32) -> String {
    var out = JSONWriter()
    ValueConverter.write(Array(text.utf8), as: ValueConverter.kind(of: oid), to: &out)
    return String(decoding: out.bytes, as: UTF8.self)
  }

  func testScalars() {
    XCTAssertEqual(json("-42", 23), "-42")
    XCTAssertEqual(json("9223372036854775807", 20), "9223372036854775807")
    XCTAssertEqual(json("12345678901234567890.000001", 1700), #""12345678901234567890.000001""#)
    XCTAssertEqual(json("NaN", 1700), #""NaN""#)
    XCTAssertEqual(json("1.5", 701), "1.5")
    XCTAssertEqual(json("-1.25e-07", 701), "-1.25e-07")
    XCTAssertEqual(json("Infinity", 701), #""Infinity""#)
    XCTAssertEqual(json("NaN", 700), #""NaN""#)
    XCTAssertEqual(json("t", 16), "true")
    XCTAssertEqual(json("f", 16), "false")
    XCTAssertEqual(json("line\n\"q\"\\", 25), #""line\n\"q\"\\""#)
    XCTAssertEqual(json(#"{"a": [1, 2]}"#, 3802), #"{"a": [1, 2]}"#)
    XCTAssertEqual(json("\\x00ff10", 17), #""AP8Q""#)
    XCTAssertEqual(json("2026-11-25", 1082), #""2026-11-25""#)
    XCTAssertEqual(json("2026-11-25 10:00:00.5", 1114), #""2026-11-25T10:00:00.5""#)
    XCTAssertEqual(json("2026-11-25 10:00:00+00", 1184), #""2026-11-25T10:00:00Z""#)
    XCTAssertEqual(json("2026-11-25 10:00:00-03", 1184), #""2026-11-25T10:00:00-03:00""#)
    XCTAssertEqual(json("infinity", 1184), #""infinity""#)
    XCTAssertEqual(json("10:00:00+05:30", 1266), #""10:00:00+05:30""#)
    XCTAssertEqual(json("10:00:00+00", 1266), #""10:00:00Z""#)
    XCTAssertEqual(
      json("a1b2c3d4-0000-4000-8000-000000000001", 2950), #""a1b2c3d4-0000-4000-8000-000000000001""#
    )
  }

  func testArrays() {
    XCTAssertEqual(json("{1,2,NULL}", 1007), "[1,2,null]")
    XCTAssertEqual(json(#"{"a b","c\"d",NULL,"NULL"}"#, 1009), #"["a b","c\"d",null,"NULL"]"#)
    XCTAssertEqual(json("{{1,2},{3,4}}", 1016), "[[1,2],[3,4]]")
    XCTAssertEqual(json("{}", 1007), "[]")
    XCTAssertEqual(json("[0:1]={5,6}", 1007), "[5,6]")
    XCTAssertEqual(json(#"{"2026-11-25 10:00:00+00"}"#, 1185), #"["2026-11-25T10:00:00Z"]"#)
    XCTAssertEqual(json(#"{"{\"a\": 1}"}"#, 3807), #"[{"a": 1}]"#)
    XCTAssertEqual(json("{1.5,NaN}", 1231), #"["1.5","NaN"]"#)
    XCTAssertEqual(json("{t,f}", 1000), "[true,false]")
    XCTAssertEqual(json("{broken", 1007), #""{broken""#, "not an array literal: kept as text")
  }
}
