import SluiceCore
import XCTest

final class JSONObjectReaderTests: XCTestCase {
  func testMembersAreLocatedInPlaceWithDecodedNames() throws {
    let bytes = Array(#" {"a": 1, "b\u0063": "x\"y", "n": null, "o": {"k": [1, 2]}} "#.utf8)
    let members = try XCTUnwrap(JSONObjectReader.members(of: bytes))
    XCTAssertEqual(members.map(\.name), ["a", "bc", "n", "o"])
    XCTAssertEqual(members.map(\.kind), [.number, .string, .null, .object])
    XCTAssertEqual(JSONObjectReader.string(bytes, members[1].value), "x\"y")
    XCTAssertEqual(String(decoding: bytes[members[3].value], as: UTF8.self), #"{"k": [1, 2]}"#)
    let inner = try XCTUnwrap(JSONObjectReader.members(of: bytes, in: members[3].value))
    XCTAssertEqual(inner.map(\.name), ["k"])
    XCTAssertEqual(JSONObjectReader.elements(of: bytes, in: inner[0].value)?.count, 2)
  }

  func testAnythingButOneObjectIsRejected() {
    for text in ["[1]", "{\"a\": 1", "{\"a\": 1} x", "{a: 1}", "", "\"s\""] {
      XCTAssertNil(JSONObjectReader.members(of: Array(text.utf8)), text)
    }
  }

  func testTheNameCacheGivesTheSameNamesAsDecoding() throws {
    let cache = JSONNameCache()
    for text in [
      #"{"id": 1, "na\u006de": "a"}"#, #"{"id": 2, "name": "b"}"#, #"{"id": 3, "na\u006de": "c"}"#,
    ] {
      var names: [String] = []
      XCTAssertTrue(
        JSONObjectReader.visitMembers(of: Array(text.utf8), names: cache) { name, _, _ in
          names.append(name)
        })
      XCTAssertEqual(names, ["id", "name"], text)
    }
  }
}
