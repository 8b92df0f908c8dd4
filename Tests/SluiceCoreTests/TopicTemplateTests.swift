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

  func testBackoffDoublesUpToTheCap() {
    var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
    let delays = (0..<6).map { _ in backoff.next() }
    XCTAssertTrue(delays[0] >= .milliseconds(80) && delays[0] <= .milliseconds(120))
    XCTAssertTrue(delays[1] >= .milliseconds(160) && delays[1] <= .milliseconds(240))
    XCTAssertTrue(delays[5] <= .milliseconds(1200) && delays[5] >= .milliseconds(800))
    backoff.reset()
    XCTAssertTrue(backoff.next() <= .milliseconds(120))
  }

  func testARestartAfterAHealthyRunStartsTheBackoffOver() {
    var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
    for _ in 0..<6 { _ = backoff.next() }
    XCTAssertTrue(backoff.next(afterRunning: .seconds(5)) >= .milliseconds(800), "a quick failure")
    XCTAssertTrue(
      backoff.next(afterRunning: .seconds(61)) <= .milliseconds(120), "after a healthy run")
    XCTAssertTrue(backoff.next(afterRunning: .seconds(1)) >= .milliseconds(160))
  }
}
