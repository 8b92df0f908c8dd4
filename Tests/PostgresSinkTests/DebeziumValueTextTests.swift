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
}
