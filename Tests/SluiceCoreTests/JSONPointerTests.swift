import SluiceCore
import XCTest

/// RFC 6901 pointers as keys and topic names use them: the text of what they point at.
final class JSONPointerTests: XCTestCase {
  private let document = JSONValue.parse(
    Array(
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

  /// The texts `JSONSerialization` gave before the pointer read ``JSONValue``s: members in name
  /// order at every depth, whole numbers without `.0`, fractions and huge numbers as Swift
  /// prints them.
  func testContainersInNameOrderAndNumberForms() {
    let document = JSONValue.parse(
      Array(#"{"o":{"z":1,"a":{"y":[1.0,2.5,1e3],"b":"é\n"}},"big":1e300,"f":0.1}"#.utf8))
    XCTAssertEqual(
      JSONPointer.text("/o", in: document), #"{"a":{"b":"é\n","y":[1,2.5,1000]},"z":1}"#)
    XCTAssertEqual(JSONPointer.text("/big", in: document), "1e+300")
    XCTAssertEqual(JSONPointer.text("/f", in: document), "0.1")
  }

  func testEscapedTokens() {
    XCTAssertEqual(JSONPointer.text("/a~1b", in: document), "1")
    XCTAssertEqual(JSONPointer.text("/m~0n", in: document), "2")
    XCTAssertEqual(JSONPointer.text("/", in: document), "3", "the empty key")
  }

  func testTheWholeDocument() {
    XCTAssertEqual(JSONPointer.text("", in: .string("plain")), "plain")
    XCTAssertEqual(JSONPointer.text("", in: .array([.int(1), .int(2)])), "[1,2]")
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
