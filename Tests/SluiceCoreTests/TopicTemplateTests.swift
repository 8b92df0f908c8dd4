import SluiceCore
import XCTest

final class TopicTemplateTests: XCTestCase {
  func testRendersPlaceholders() throws {
    let template = try TopicTemplate("shop.{schema}.{table}")
    XCTAssertEqual(template.placeholders, ["schema", "table"])
    XCTAssertEqual(
      try template.render { ["schema": "public", "table": "orders"][$0] }, "shop.public.orders")
  }

  func testRefusesUnsafeOrEmptyResults() throws {
    let template = try TopicTemplate("github.{event}")
    XCTAssertThrowsError(try template.render { _ in "push/../x" }) { error in
      XCTAssertTrue("\(error)".contains("'/' is not allowed"), "\(error)")
    }
    XCTAssertThrowsError(try template.render { _ in "" }) { error in
      XCTAssertTrue("\(error)".contains("no value for '{event}'"), "\(error)")
    }
  }

  func testRejectsBadTemplatesAndUnknownPlaceholders() throws {
    XCTAssertThrowsError(try TopicTemplate("a.{b"))
    XCTAssertThrowsError(try TopicTemplate("a}b"))
    XCTAssertThrowsError(try TopicTemplate("bad topic"))
    let template = try TopicTemplate("x.{nope}")
    XCTAssertThrowsError(try template.validate(isKnown: { $0 == "table" }, known: "{table}")) {
      error in
      XCTAssertTrue("\(error)".contains("unknown placeholder '{nope}'"))
    }
  }
}
