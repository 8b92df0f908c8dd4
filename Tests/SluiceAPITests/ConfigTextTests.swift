import Foundation
import XCTest

@testable import SluiceAPI

/// Config values in PUT/PATCH bodies as Kafka Connect's JSON mapper takes them: numbers and
/// booleans as their text, null as a removal, lists and objects refused.
final class ConfigTextTests: XCTestCase {
  private func texts(_ json: String) throws -> [String: String?] {
    try JSONDecoder().decode([String: ConfigText].self, from: Data(json.utf8)).mapValues(\.text)
  }

  func testScalarsAreTextAndNullRemoves() throws {
    let decoded = try texts(
      #"{"s": "x", "i": 12, "big": 9007199254740993, "d": 1.5, "t": true, "f": false, "n": null}"#)
    XCTAssertEqual(decoded["s"], "x")
    XCTAssertEqual(decoded["i"], "12")
    XCTAssertEqual(decoded["big"], "9007199254740993", "integers stay exact")
    XCTAssertEqual(decoded["d"], "1.5")
    XCTAssertEqual(decoded["t"], "true")
    XCTAssertEqual(decoded["f"], "false")
    XCTAssertEqual(decoded["n"], .some(nil))
  }

  func testListsAndObjectsAreRefused() {
    XCTAssertThrowsError(try texts(#"{"a": [1]}"#))
    XCTAssertThrowsError(try texts(#"{"a": {"b": "c"}}"#))
  }
}
