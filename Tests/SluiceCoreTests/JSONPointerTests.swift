import Foundation
import SluiceCore
import XCTest

/// RFC 6901 pointers as keys and topic names use them: the text of what they point at.
final class JSONPointerTests: XCTestCase {
  private let document = try! JSONSerialization.jsonObject(
    with: Data(
      #"{"a":{"b":"x","n":7,"t":true,"o":{"k":1}},"list":[10,"y"],"a/b":1,"m~n":2,"nul":null,"":3}"#
        .utf8))

  func testFollowsObjectsAndArrays() {
    XCTAssertEqual(JSONPointer.text("/a/b", in: document), "x")
    XCTAssertEqual(JSONPointer.text("/list/1", in: document), "y")
    XCTAssertEqual(JSONPointer.text("/list/0", in: document), "10")
  }

  func testScalarsAndContainersAsText() {
    XCTAssertEqual(JSONPointer.text("/a/n", in: document), "7")
    XCTAssertEqual(JSONPointer.text("/a/t", in: document), "true")
    XCTAssertEqual(JSONPointer.text("/a/o", in: document), #"{"k":1}"#)
  }

  func testEscapedTokens() {
    XCTAssertEqual(JSONPointer.text("/a~1b", in: document), "1")
    XCTAssertEqual(JSONPointer.text("/m~0n", in: document), "2")
    XCTAssertEqual(JSONPointer.text("/", in: document), "3", "the empty key")
  }

  func testTheWholeDocument() {
    XCTAssertEqual(JSONPointer.text("", in: "plain"), "plain")
    XCTAssertEqual(JSONPointer.text("", in: [1, 2]), "[1,2]")
  }

  func testNothingWhereThereIsNoValue() {
    XCTAssertNil(JSONPointer.text("/missing", in: document))
    XCTAssertNil(JSONPointer.text("/list/2", in: document))
    XCTAssertNil(JSONPointer.text("/list/-1", in: document))
    XCTAssertNil(JSONPointer.text("/list/x", in: document))
    XCTAssertNil(JSONPointer.text("/a/b/c", in: document), "into a string")
    XCTAssertNil(JSONPointer.text("/nul", in: document), "null has no text")
    XCTAssertNil(JSONPointer.text("/a", in: nil))
  }
}
