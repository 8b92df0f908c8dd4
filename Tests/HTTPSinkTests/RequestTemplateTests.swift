import Foundation
import SluiceCore
import XCTest

@testable import HTTPSinkConnector

/// The HTTP sink's URL and header templates: what each placeholder fills in, the escaping that
/// keeps a record from reshaping a URL or adding a header, and the config errors.
final class RequestTemplateTests: XCTestCase {
  private func template(_ text: String, escaping: Bool = true, batchMode: Bool = false) throws
    -> RequestTemplate
  {
    let node = try ConfigNode.parse(text: "url: \"\(text)\"", file: "h.yaml")
    let url = try node.mapping(allowedKeys: ["url"]).required("url")
    return try RequestTemplate(url, escaping: escaping, batchMode: batchMode)
  }

  private func record(key: String?, value: String?) -> Record {
    Record(
      topic: "orders", partition: 3, offset: 42, timestamp: 0, key: key.map { Array($0.utf8) },
      value: value.map { Array($0.utf8) })
  }

  private func render(_ template: RequestTemplate, _ record: Record) throws -> String {
    try template.render(
      record,
      value: record.value.flatMap(JSONValue.parse))
  }

  func testALiteralIsItself() throws {
    let t = try template("https://api.example.com/events")
    XCTAssertTrue(t.isLiteral)
    XCTAssertEqual(try render(t, record(key: nil, value: nil)), "https://api.example.com/events")
  }

  func testPlaceholdersFillFromTheRecord() throws {
    let t = try template(
      "https://x/{topic}/{partition}/{key}/{value:/customer/id}/{key:/region}/{json:/n}")
    XCTAssertFalse(t.isLiteral)
    let r = record(key: #"{"region":"eu"}"#, value: #"{"customer":{"id":"c-7"},"n":5}"#)
    XCTAssertEqual(
      try render(t, r), "https://x/orders/3/%7B%22region%22%3A%22eu%22%7D/c-7/eu/5")
  }

  func testAStringKeyLosesItsQuotes() throws {
    XCTAssertEqual(try render(try template("https://x/{key}"), record(key: #""k1""#, value: nil)),
      "https://x/k1")
  }

  func testFilledValuesAreEscapedSoTheyCannotAddPathOrQuery() throws {
    let t = try template("https://x/items/{key}")
    XCTAssertEqual(
      try render(t, record(key: "../admin?x=1#f", value: nil)), "https://x/items/..%2Fadmin%3Fx%3D1%23f")
  }

  func testAHeaderValueMayNotHoldALineBreak() throws {
    let t = try template("{value:/h}", escaping: false)
    XCTAssertEqual(try render(t, record(key: nil, value: #"{"h":"a b"}"#)), "a b")
    XCTAssertThrowsError(try render(t, record(key: nil, value: #"{"h":"a\r\nX-Evil: 1"}"#))) {
      XCTAssertTrue("\($0)".contains("line break"), "\($0)")
    }
  }

  func testAMissingValueIsARecordErrorNamingThePlaceholder() throws {
    let t = try template("https://x/{value:/id}")
    XCTAssertThrowsError(try render(t, record(key: nil, value: #"{"other":1}"#))) {
      XCTAssertEqual(($0 as? RenderError)?.message, "'https://x/{value:/id}': the record has no value for {value:/id}")
    }
    XCTAssertThrowsError(try render(try template("https://x/{key}"), record(key: nil, value: "1")))
  }

  func testUnknownPlaceholdersAndPerRecordOnesInBatchModeAreConfigErrors() throws {
    XCTAssertThrowsError(try template("https://x/{offset}")) {
      XCTAssertTrue("\($0)".contains("unknown placeholder {offset}"), "\($0)")
      XCTAssertTrue("\($0)".contains("h.yaml:1"), "file:line in \($0)")
    }
    XCTAssertNoThrow(try template("https://x/{topic}/{partition}", batchMode: true))
    XCTAssertThrowsError(try template("https://x/{key}", batchMode: true)) {
      XCTAssertTrue("\($0)".contains("with batch: only {topic} and {partition}"), "\($0)")
    }
  }
}
