import XCTest

@testable import SluiceCore

/// The one reader of big-endian wire formats, over a raw buffer (the log) and over a slice
/// (the CDC source): values, in-place slices, and input that ends early or lies about lengths.
final class BigEndianReaderTests: XCTestCase {
  /// Lengths read from stored bytes can be anything (found by fuzzing the segment reader).
  func testLengthsNearIntMaxAreTruncationNotATrap() throws {
    let bytes: [UInt8] = [1, 2, 3, 4]
    try bytes.withUnsafeBytes { raw in
      var reader = BigEndianReader(raw)
      reader.position = 2
      XCTAssertThrowsError(try reader.skip(Int.max))
      XCTAssertThrowsError(try reader.bytes(Int.max - 1))
      XCTAssertThrowsError(try reader.take(Int.max))
      XCTAssertThrowsError(try reader.skip(-1))
      try reader.skip(2)
      XCTAssertEqual(reader.position, 4)
      XCTAssertTrue(reader.isAtEnd)
    }
  }

  func testIntegersAreBigEndianAndSigned() throws {
    var reader = slice([
      0xFF, 0x01, 0x02, 0xFF, 0xFF, 0xFF, 0xFE, 0, 0, 0, 0, 0, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0, 0,
    ])
    XCTAssertEqual(try reader.int8(), -1)
    XCTAssertEqual(try reader.uint16(), 0x0102)
    XCTAssertEqual(try reader.int32(), -2)
    XCTAssertEqual(try reader.uint64(), 0x100)
    XCTAssertEqual(try reader.int64(), Int64.min)
    XCTAssertThrowsError(try reader.byte()) {
      XCTAssertEqual(($0 as? MalformedBytes)?.description, "message ends early")
    }
  }

  /// Kafka's zig-zag varints, and lengths -1 (null) and past the end.
  func testVarintsAndLengthPrefixedFields() throws {
    // 3 → 6; -1 → 1; 300 → 600 = 0xD8 0x04; then "ab" with length 2 (4), null (1), length 5 (10).
    var reader = slice([6, 1, 0xD8, 0x04, 4, 0x61, 0x62, 1, 10, 0])
    XCTAssertEqual(try reader.varint(), 3)
    XCTAssertEqual(try reader.varint(), -1)
    XCTAssertEqual(try reader.varint(), 300)
    XCTAssertEqual(try reader.lengthPrefixed(), [0x61, 0x62])
    XCTAssertNil(try reader.lengthPrefixed())
    XCTAssertThrowsError(try reader.lengthPrefixed())
    // Ten continuation bytes are no varint.
    var endless = slice([UInt8](repeating: 0xFF, count: 11))
    XCTAssertThrowsError(try endless.varint())
  }

  /// Over a slice, positions are the slice's indexes and `take`/`rest` hand out its own bytes.
  func testSlicesAreReadInPlace() throws {
    let message: [UInt8] = [9, 9, 0x61, 0x62, 0, 1, 2, 3, 4]
    var reader = BigEndianReader(message[2...])
    XCTAssertEqual(reader.position, 2)
    XCTAssertEqual(try reader.cString(), "ab")
    XCTAssertEqual(reader.remaining, 4)
    let taken = try reader.take(2)
    XCTAssertEqual(taken.startIndex, 5)
    XCTAssertEqual(Array(taken), [1, 2])
    XCTAssertEqual(Array(reader.rest()), [3, 4])
    XCTAssertTrue(reader.isAtEnd)
    var unterminated = slice([0x61, 0x62])
    XCTAssertThrowsError(try unterminated.cString()) {
      XCTAssertEqual(($0 as? MalformedBytes)?.description, "string without terminator")
    }
  }

  /// A reader over a whole message, as the CDC source makes them.
  private func slice(_ bytes: [UInt8]) -> BigEndianReader<ArraySlice<UInt8>> {
    BigEndianReader(bytes)
  }
}
