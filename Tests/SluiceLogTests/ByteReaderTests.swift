import XCTest

@testable import SluiceLog

/// Lengths read from stored bytes can be anything (found by fuzzing the segment reader).
final class ByteReaderTests: XCTestCase {
  func testLengthsNearIntMaxAreTruncationNotATrap() throws {
    let bytes: [UInt8] = [1, 2, 3, 4]
    try bytes.withUnsafeBytes { raw in
      var reader = ByteReader(raw)
      reader.position = 2
      XCTAssertThrowsError(try reader.skip(Int.max))
      XCTAssertThrowsError(try reader.bytes(Int.max - 1))
      XCTAssertThrowsError(try reader.skip(-1))
      try reader.skip(2)
      XCTAssertEqual(reader.position, 4)
    }
  }
}
