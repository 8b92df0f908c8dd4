import SluiceCore
import XCTest

/// Source positions order by their bytes up to the first `|`; what follows is state.
final class SourcePositionTests: XCTestCase {
  func testPositionsOrderByTheirTextUpToTheState() {
    let ordered = ["", "A", "A|zz", "AB", "AB|", "ABC", "B", "B|A"].map(SourcePosition.init)
    for (i, a) in ordered.enumerated() {
      for (j, b) in ordered.enumerated() {
        let expected = a.text.split(separator: "|", omittingEmptySubsequences: false)[0]
          .utf8.lexicographicallyPrecedes(
            b.text.split(separator: "|", omittingEmptySubsequences: false)[0].utf8)
        XCTAssertEqual(a < b, expected, "\(a) < \(b) (\(i), \(j))")
      }
    }
    XCTAssertTrue(SourcePosition("AB|x") <= SourcePosition("AB"))
    XCTAssertTrue(SourcePosition("AB") <= SourcePosition("AB|x"))
  }

  func testHexIsFixedWidthUpperCase() {
    XCTAssertEqual(SourcePosition.hex(0), "0000000000000000")
    XCTAssertEqual(SourcePosition.hex(0x16B3748), "00000000016B3748")
    XCTAssertEqual(SourcePosition.hex(255, width: 4), "00FF")
    XCTAssertEqual(SourcePosition.hex(0x12345, width: 2), "12345")
    XCTAssertEqual(SourcePosition.hex(UInt64.max), "FFFFFFFFFFFFFFFF")
  }
}
