import XCTest

@testable import PostgresSinkConnector

/// Debezium's encodings back to PostgreSQL's text, without a server.
final class DebeziumValueTextTests: XCTestCase {
  func testDaysAndEpochMicrosecondsBecomeDatesAndTimestamps() {
    XCTAssertEqual(DebeziumValueText.date(days: 20782), "2026-11-25")
    XCTAssertEqual(DebeziumValueText.date(days: -1), "1969-12-31")
    XCTAssertEqual(DebeziumValueText.date(days: -719528), "0001-01-01 BC")
    XCTAssertEqual(
      DebeziumValueText.timestamp(micros: 1_795_600_800_500_000), "2026-11-25 10:00:00.500000")
    XCTAssertEqual(DebeziumValueText.timestamp(micros: -1), "1969-12-31 23:59:59.999999")
    XCTAssertEqual(DebeziumValueText.time(micros: 36_000_500_000), "10:00:00.500000")
    XCTAssertEqual(
      DebeziumValueText.infinity(epoch: 9_223_372_036_825_200_000, millis: false), "infinity")
    XCTAssertEqual(
      DebeziumValueText.infinity(epoch: -9_223_372_036_832_400, millis: true), "-infinity")
    XCTAssertNil(DebeziumValueText.infinity(epoch: 0, millis: false))
  }

  func testConnectDecimalsBecomeDecimalText() {
    XCTAssertEqual(DebeziumValueText.decimal(base64: "AeJA", scale: 2), "1234.56")
    XCTAssertEqual(DebeziumValueText.decimal(base64: "nA==", scale: 2), "-1.00")
    XCTAssertEqual(DebeziumValueText.decimal(base64: "AA==", scale: 2), "0.00")
    XCTAssertEqual(DebeziumValueText.decimal(base64: "AJY=", scale: 2), "1.50")
    XCTAssertEqual(DebeziumValueText.decimal(base64: "+Q==", scale: 0), "-7")
    XCTAssertEqual(
      DebeziumValueText.decimal(base64: "CjZMmCJ+qmra2IE=", scale: 6), "12345678901234567890.000001"
    )
    XCTAssertEqual(DebeziumValueText.decimal(base64: "AQ==", scale: 3), "0.001")
    XCTAssertTrue(DebeziumValueText.isDecimalText("-12.5"))
    XCTAssertFalse(DebeziumValueText.isDecimalText("AeJA"))
  }

  func testBitsBecomeBitStringsOfTheColumnsLength() {
    // Debezium's Bits: the bits as one number, little-endian, high zero bytes dropped.
    XCTAssertEqual(DebeziumValueText.bits(base64: "BQ==", length: 3), "101")
    XCTAssertEqual(DebeziumValueText.bits(base64: "Dw==", length: 8), "00001111")
    XCTAssertEqual(DebeziumValueText.bits(base64: "AgE=", length: 16), "0000000100000010")
    XCTAssertEqual(DebeziumValueText.bits(base64: "AQID", length: 24), "000000110000001000000001")
    // Padded to whole bytes, as Debezium's own connector may send them.
    XCTAssertEqual(DebeziumValueText.bits(base64: "BQA=", length: 3), "101")
    XCTAssertEqual(DebeziumValueText.bits(base64: "", length: 4), "0000")
    // bit varying: the significant bits; zero is "0".
    XCTAssertEqual(DebeziumValueText.bits(base64: "AgE=", length: nil), "100000010")
    XCTAssertEqual(DebeziumValueText.bits(base64: "", length: nil), "0")
    // More bits than the column holds are kept, for PostgreSQL to refuse, never cut.
    XCTAssertEqual(DebeziumValueText.bits(base64: "BQ==", length: 2), "101")
    XCTAssertNil(DebeziumValueText.bits(base64: "not base64!", length: 3))

    XCTAssertTrue(DebeziumValueText.isBitText("0101", length: 4, varying: false))
    XCTAssertFalse(DebeziumValueText.isBitText("0101", length: 5, varying: false))
    XCTAssertTrue(DebeziumValueText.isBitText("01", length: 5, varying: true))
    XCTAssertTrue(DebeziumValueText.isBitText("0111011", length: nil, varying: true))
    XCTAssertFalse(DebeziumValueText.isBitText("BQ==", length: nil, varying: true))
    XCTAssertFalse(DebeziumValueText.isBitText("", length: nil, varying: true))
  }

  func testPointsComeFromTheirCoordinatesOrTheirWellKnownBinary() {
    XCTAssertEqual(DebeziumValueText.point(x: "1.5", y: "-2.25"), "(1.5,-2.25)")
    let little = DebeziumValueText.point(wkb: "AQEAAAAAAAAAAAD4PwAAAAAAAADA")
    XCTAssertEqual(little?.x, 1.5)
    XCTAssertEqual(little?.y, -2)
    let big = DebeziumValueText.point(wkb: "AAAAAAE/+AAAAAAAAMAAAAAAAAAA")
    XCTAssertEqual(big?.x, 1.5)
    XCTAssertEqual(big?.y, -2)
    XCTAssertNil(DebeziumValueText.point(wkb: "AQI="))
  }

  func testHstoreTextQuotesAndEscapesKeysAndValues() {
    XCTAssertEqual(
      DebeziumValueText.hstore([("a", "1"), ("b \"q\"", nil), ("c\\", "x=>y")]),
      #""a"=>"1", "b \"q\""=>NULL, "c\\"=>"x=>y""#)
    XCTAssertEqual(DebeziumValueText.hstore([]), "")
  }
}
