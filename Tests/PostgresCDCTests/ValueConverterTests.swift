import Foundation
import XCTest
import SluiceCore

@testable import PostgresCDCConnector

/// Text forms PostgreSQL sends (ISO DateStyle, UTC, iso_8601 intervals, hex bytea) and the
/// JSON Debezium's PostgreSQL connector writes for them, type by type and option by option.
final class ValueConverterTests: XCTestCase {
  func json(
    _ text: String, _ oid: UInt32, modifier: Int32 = -1,
    _ options: ValueConversionOptions = .debezium, userTypes: [UInt32: UserType] = [:]
  ) -> String {
    var out = JSONWriter()
    ValueConverter.write(
      Array(text.utf8), as: ValueConverter.kind(of: oid, modifier: modifier, userTypes: userTypes),
      options: options, to: &out)
    return String(decoding: out.bytes, as: UTF8.self)
  }

  func options(
    decimal: ValueConversionOptions.DecimalHandling = .precise,
    time: ValueConversionOptions.TimePrecision = .adaptive,
    interval: ValueConversionOptions.IntervalHandling = .numeric,
    binary: ValueConversionOptions.BinaryHandling = .bytes,
    hstore: ValueConversionOptions.HstoreHandling = .json
  ) -> ValueConversionOptions {
    ValueConversionOptions(
      decimal: decimal, time: time, interval: interval, binary: binary, hstore: hstore)
  }

  /// numeric(p, s)'s type modifier.
  func numeric(_ precision: Int32, _ scale: Int32) -> Int32 { (precision << 16 | scale) + 4 }

  func testIntegersAndOid() {
    XCTAssertEqual(json("-42", 23), "-42")
    XCTAssertEqual(json("7", 21), "7")
    XCTAssertEqual(json("9223372036854775807", 20), "9223372036854775807")
    XCTAssertEqual(json("4294967295", 26), "4294967295")
  }

  func testFloatsWithNaNAndInfinities() {
    XCTAssertEqual(json("1.5", 701), "1.5")
    XCTAssertEqual(json("-1.25e-07", 701), "-1.25e-07")
    XCTAssertEqual(json("Infinity", 701), #""Infinity""#)
    XCTAssertEqual(json("-Infinity", 700), #""-Infinity""#)
    XCTAssertEqual(json("NaN", 700), #""NaN""#)
  }

  func testNumericPreciseIsBase64OfTheUnscaledTwosComplement() {
    XCTAssertEqual(json("1234.56", 1700, modifier: numeric(10, 2)), #""AeJA""#)
    XCTAssertEqual(json("-1.00", 1700, modifier: numeric(10, 2)), #""nA==""#)
    XCTAssertEqual(json("1.28", 1700, modifier: numeric(10, 2)), #""AIA=""#)
    XCTAssertEqual(json("0.00", 1700, modifier: numeric(10, 2)), #""AA==""#)
    XCTAssertEqual(json("-1.29", 1700, modifier: numeric(10, 2)), #""/38=""#)
    XCTAssertEqual(json("NaN", 1700, modifier: numeric(10, 2)), "null")
  }

  func testNumericWithoutScaleIsVariableScaleDecimal() {
    XCTAssertEqual(json("1.50", 1700), #"{"scale":2,"value":"AJY="}"#)
    XCTAssertEqual(json("-7", 1700), #"{"scale":0,"value":"+Q=="}"#)
    XCTAssertEqual(
      json("12345678901234567890.000001", 1700), #"{"scale":6,"value":"CjZMmCJ+qmra2IE="}"#)
    XCTAssertEqual(json("NaN", 1700), "null")
  }

  func testNumericDoubleAndString() {
    XCTAssertEqual(
      json("1234.56", 1700, modifier: numeric(10, 2), options(decimal: .double)), "1234.56")
    XCTAssertEqual(json("NaN", 1700, options(decimal: .double)), #""NaN""#)
    XCTAssertEqual(json("Infinity", 1700, options(decimal: .double)), #""Infinity""#)
    XCTAssertEqual(
      json("1234.56", 1700, modifier: numeric(10, 2), options(decimal: .string)), #""1234.56""#)
    XCTAssertEqual(json("-0.00000025", 1700, options(decimal: .string)), #""-0.00000025""#)
    XCTAssertEqual(json("0.000001", 1700, options(decimal: .string)), #""0.000001""#)
    XCTAssertEqual(json("NaN", 1700, options(decimal: .string)), #""NAN""#)
  }

  func testMoneyHasScaleTwoInEveryMode() {
    XCTAssertEqual(json("$1,234.56", 790), #""AeJA""#)
    XCTAssertEqual(json("-$1.00", 790), #""nA==""#)
    XCTAssertEqual(json("$1,234.56", 790, options(decimal: .double)), "1234.56")
    XCTAssertEqual(json("$1,234.56", 790, options(decimal: .string)), #""1234.56""#)
  }

  func testBooleanTextCharUuidXmlNetworkTsvector() {
    XCTAssertEqual(json("t", 16), "true")
    XCTAssertEqual(json("f", 16), "false")
    XCTAssertEqual(json("line\n\"q\"\\", 25), #""line\n\"q\"\\""#)
    XCTAssertEqual(json("ab  ", 1042), #""ab  ""#, "char(n) keeps its padding")
    XCTAssertEqual(
      json("a1b2c3d4-0000-4000-8000-000000000001", 2950), #""a1b2c3d4-0000-4000-8000-000000000001""#
    )
    XCTAssertEqual(json("<a>1</a>", 142), #""<a>1</a>""#)
    XCTAssertEqual(json("192.168.0.1/32", 869), #""192.168.0.1/32""#)
    XCTAssertEqual(json("10.0.0.0/8", 650), #""10.0.0.0/8""#)
    XCTAssertEqual(json("08:00:2b:01:02:03", 829), #""08:00:2b:01:02:03""#)
    XCTAssertEqual(json("'a' 'b'", 3614), #""'a' 'b'""#)
  }

  func testJSONIsAString() {
    XCTAssertEqual(json(#"{"a": [1, 2]}"#, 3802), #""{\"a\": [1, 2]}""#)
    XCTAssertEqual(json(#"[1]"#, 114), #""[1]""#)
  }

  func testByteaPerBinaryMode() {
    XCTAssertEqual(json("\\x00ff10", 17), #""AP8Q""#)
    XCTAssertEqual(json("\\x00ff10", 17, options(binary: .base64)), #""AP8Q""#)
    XCTAssertEqual(json("\\xfbff", 17, options(binary: .base64)), #""+/8=""#)
    XCTAssertEqual(json("\\xfbff", 17, options(binary: .base64UrlSafe)), #""-_8=""#)
    XCTAssertEqual(json("\\x00ff10", 17, options(binary: .hex)), #""00ff10""#)
  }

  func testDatePerTimeMode() {
    XCTAssertEqual(json("2026-11-25", 1082), "20782")
    XCTAssertEqual(json("1969-12-31", 1082), "-1")
    XCTAssertEqual(json("0001-01-01 BC", 1082), "-719528")
    XCTAssertEqual(json("2026-11-25", 1082, options(time: .adaptiveTimeMicroseconds)), "20782")
    XCTAssertEqual(json("2026-11-25", 1082, options(time: .connect)), "20782")
    XCTAssertEqual(json("2026-11-25", 1082, options(time: .isostring)), #""2026-11-25Z""#)
  }

  func testTimePerPrecisionAndMode() {
    XCTAssertEqual(json("10:00:00.5", 1083), "36000500000", "time is time(6): MicroTime")
    XCTAssertEqual(json("10:00:00.5", 1083, modifier: 3), "36000500", "time(3): Time in ms")
    XCTAssertEqual(
      json("10:00:00.5", 1083, modifier: 3, options(time: .adaptiveTimeMicroseconds)), "36000500000"
    )
    XCTAssertEqual(json("10:00:00.5", 1083, options(time: .connect)), "36000500")
    XCTAssertEqual(json("10:00:00.5", 1083, options(time: .isostring)), #""10:00:00.5Z""#)
    XCTAssertEqual(json("24:00:00", 1083), "86400000000")
  }

  func testTimetzIsNormalisedToUTC() {
    XCTAssertEqual(json("10:00:00+05:30", 1266), #""04:30:00Z""#)
    XCTAssertEqual(json("01:00:00-03", 1266), #""04:00:00Z""#)
    XCTAssertEqual(json("02:00:00.25+05", 1266), #""21:00:00.25Z""#)
  }

  func testTimestampPerPrecisionAndMode() {
    XCTAssertEqual(json("2026-11-25 10:00:00.5", 1114), "1795600800500000")
    XCTAssertEqual(json("2026-11-25 10:00:00.5", 1114, modifier: 3), "1795600800500")
    XCTAssertEqual(json("2026-11-25 10:00:00.5", 1114, options(time: .connect)), "1795600800500")
    XCTAssertEqual(
      json("2026-11-25 10:00:00.5", 1114, options(time: .isostring)), #""2026-11-25T10:00:00.5Z""#)
    XCTAssertEqual(json("1969-12-31 23:59:59.9995", 1114, modifier: 3), "-1", "floored")
    XCTAssertEqual(json("infinity", 1114), "9223372036825200000")
    XCTAssertEqual(json("-infinity", 1114), "-9223372036832400000")
    XCTAssertEqual(json("infinity", 1114, modifier: 3), "9223372036825200")
    XCTAssertEqual(
      json("infinity", 1114, options(time: .isostring)), #""+294247-01-10T04:00:25.2Z""#)
    XCTAssertEqual(
      json("-infinity", 1114, options(time: .isostring)), #""-290308-12-21T19:59:27.6Z""#)
  }

  func testTimestamptzIsISOInUTCWithTheColumnsFractionDigits() {
    XCTAssertEqual(json("2026-11-25 10:00:00.5+00", 1184), #""2026-11-25T10:00:00.500000Z""#)
    XCTAssertEqual(json("2026-11-25 10:00:00-03", 1184), #""2026-11-25T13:00:00.000000Z""#)
    XCTAssertEqual(json("2026-11-25 10:00:00+00", 1184, modifier: 0), #""2026-11-25T10:00:00Z""#)
    XCTAssertEqual(
      json("2026-11-25 10:00:00.123+00", 1184, modifier: 3), #""2026-11-25T10:00:00.123Z""#)
    XCTAssertEqual(json("0044-03-15 10:00:00+00 BC", 1184), #""-0043-03-15T10:00:00.000000Z""#)
    XCTAssertEqual(json("12026-11-25 10:00:00+00", 1184), #""+12026-11-25T10:00:00.000000Z""#)
    XCTAssertEqual(json("infinity", 1184), #""infinity""#)
    XCTAssertEqual(json("-infinity", 1184), #""-infinity""#)
  }

  func testIntervalPerMode() {
    XCTAssertEqual(json("P1Y2M3DT4H5M6.5S", 1186), "37091106500000")
    XCTAssertEqual(json("PT0S", 1186), "0")
    XCTAssertEqual(json("PT-1.5S", 1186), "-1500000")
    XCTAssertEqual(
      json("P1Y2M3DT4H5M6.5S", 1186, options(interval: .string)), #""P1Y2M3DT4H5M6.5S""#)
    XCTAssertEqual(json("PT0S", 1186, options(interval: .string)), #""P0Y0M0DT0H0M0S""#)
    XCTAssertEqual(json("P-1Y-2M", 1186, options(interval: .string)), #""P-1Y-2M0DT0H0M0S""#)
  }

  func testBits() {
    XCTAssertEqual(json("1", 1560, modifier: 1), "true")
    XCTAssertEqual(json("0", 1560, modifier: 1), "false")
    XCTAssertEqual(json("101", 1560, modifier: 3), #""BQ==""#)
    XCTAssertEqual(json("1000000001", 1560, modifier: 10), #""AQI=""#)
    XCTAssertEqual(json("1111111111", 1562), #""/wM=""#)
    XCTAssertEqual(json("00000000", 1560, modifier: 8), #""""#, "zero: no bytes, as BitSet")
    XCTAssertEqual(json("0000000100000000", 1560, modifier: 16), #""AAE=""#)
  }

  func testOutOfRangeTextIsKeptAsTextNotATrap() {
    XCTAssertEqual(json("9999999-01-01 00:00:00", 1114), #""9999999-01-01 00:00:00""#)
    XCTAssertEqual(json("99999999999999999999-01-01", 1082), #""99999999999999999999-01-01""#)
    XCTAssertEqual(json("999999999:00:00", 1083), #""999999999:00:00""#)
    XCTAssertEqual(json("P9999999999Y", 1186), "9223372036854775807", "saturates as Java's cast")
    XCTAssertEqual(json("101", 1560, modifier: Int32.max), #""BQ==""#)
  }

  func testPointIsDebeziumsGeometryStruct() {
    XCTAssertEqual(
      json("(1,2)", 600), #"{"x":1.0,"y":2.0,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}"#)
  }

  func testHstorePerMode() {
    let hstore: [UInt32: UserType] = [16500: .named("hstore")]
    XCTAssertEqual(
      json(#""a"=>"1", "b"=>NULL"#, 16500, userTypes: hstore), #""{\"a\":\"1\",\"b\":null}""#)
    XCTAssertEqual(
      json(#""a"=>"1", "b"=>NULL"#, 16500, options(hstore: .map), userTypes: hstore),
      #"{"a":"1","b":null}"#)
    // PostgreSQL prints keys by length, then bytes; Debezium writes them in a Java HashMap's
    // order: by bucket ("q1" and "zz" share bucket 0), then as inserted.
    XCTAssertEqual(
      json(#""a"=>"2", "q1"=>"4", "zz"=>"1", "key"=>"3""#, 16500, userTypes: hstore),
      #""{\"q1\":\"4\",\"zz\":\"1\",\"a\":\"2\",\"key\":\"3\"}""#)
  }

  func testEnumsLtreeAndDomainsTakeTheirBaseType() {
    let types: [UInt32: UserType] = [
      16400: .named("mood"), 16401: .named("ltree"), 16402: .domain(base: 1082, modifier: -1),
      16403: .domain(base: 1700, modifier: (10 << 16 | 2) + 4),
      16404: .domain(base: 16402, modifier: -1),
      16405: .array(element: 16400),
    ]
    XCTAssertEqual(json("happy", 16400, userTypes: types), #""happy""#)
    XCTAssertEqual(json("a.b.c", 16401, userTypes: types), #""a.b.c""#)
    XCTAssertEqual(json("2026-11-25", 16402, userTypes: types), "20782")
    XCTAssertEqual(json("1234.56", 16403, userTypes: types), #""AeJA""#)
    XCTAssertEqual(json("2026-11-25", 16404, userTypes: types), "20782", "a domain over a domain")
    XCTAssertEqual(json("{happy,sad}", 16405, userTypes: types), #"["happy","sad"]"#)
  }

  func testArraysConvertTheirElements() {
    XCTAssertEqual(json("{1,2,NULL}", 1007), "[1,2,null]")
    XCTAssertEqual(json(#"{"a b","c\"d",NULL,"NULL"}"#, 1009), #"["a b","c\"d",null,"NULL"]"#)
    XCTAssertEqual(json("{{1,2},{3,4}}", 1016), "[[1,2],[3,4]]")
    XCTAssertEqual(json("{}", 1007), "[]")
    XCTAssertEqual(json("[0:1]={5,6}", 1007), "[5,6]")
    XCTAssertEqual(json(#"{"2026-11-25 10:00:00+00"}"#, 1185), #"["2026-11-25T10:00:00.000000Z"]"#)
    XCTAssertEqual(json(#"{"{\"a\": 1}"}"#, 3807), #"["{\"a\": 1}"]"#)
    XCTAssertEqual(json("{1.50,NaN}", 1231), #"[{"scale":2,"value":"AJY="},null]"#)
    XCTAssertEqual(json("{1.50}", 1231, modifier: numeric(5, 2)), #"["AJY="]"#)
    XCTAssertEqual(json("{2026-11-25,NULL}", 1182), "[20782,null]")
    XCTAssertEqual(json("{t,f}", 1000), "[true,false]")
    XCTAssertEqual(json("{broken", 1007), #""{broken""#, "not an array literal: kept as text")
  }

  func testToastPlaceholderTakesTheColumnsForm() {
    func placeholder(_ kind: ColumnKind, _ options: ValueConversionOptions = .debezium) -> String {
      var out = JSONWriter()
      ValueConverter.writeUnavailable(as: kind, options: options, to: &out)
      return String(decoding: out.bytes, as: UTF8.self)
    }
    XCTAssertEqual(placeholder(.text), #""__debezium_unavailable_value""#)
    XCTAssertEqual(placeholder(.json), #""__debezium_unavailable_value""#)
    XCTAssertEqual(placeholder(.bytea), #""X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==""#)
    XCTAssertEqual(
      placeholder(.bytea, options(binary: .hex)),
      #""5f5f646562657a69756d5f756e617661696c61626c655f76616c7565""#)
    XCTAssertEqual(placeholder(.array(of: .text)), #"["__debezium_unavailable_value"]"#)
  }
}
