import XCTest

@testable import SluiceKafka

/// The hand-written primitives: encodings from the protocol guide, and bad input as errors.
final class KafkaPrimitivesTests: XCTestCase {
  func testVarintsAreZigzagAndUnsignedVarintsAreLittleEndianGroups() throws {
    var writer = KafkaWriter()
    writer.writeVarint(-1)
    writer.writeVarint(1)
    writer.writeVarint(Int32.min)
    writer.writeVarlong(Int64.min)
    writer.writeUnsignedVarint(300)
    writer.writeUnsignedVarint(UInt32.max)
    XCTAssertEqual(Array(writer.bytes.prefix(2)), [0x01, 0x02])
    var reader = KafkaReader(writer.bytes)
    XCTAssertEqual(try reader.readVarint(field: "a"), -1)
    XCTAssertEqual(try reader.readVarint(field: "b"), 1)
    XCTAssertEqual(try reader.readVarint(field: "c"), Int32.min)
    XCTAssertEqual(try reader.readVarlong(field: "d"), Int64.min)
    let at = reader.position
    XCTAssertEqual(try reader.readUnsignedVarint(field: "e"), 300)
    XCTAssertEqual(Array(writer.bytes[at..<at + 2]), [0xAC, 0x02])
    XCTAssertEqual(try reader.readUnsignedVarint(field: "f"), UInt32.max)
    XCTAssertTrue(reader.isAtEnd)
  }

  func testOverlongVarintIsAnError() {
    var reader = KafkaReader([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
    XCTAssertThrowsError(try reader.readUnsignedVarint(field: "count")) { error in
      XCTAssertEqual((error as? KafkaDecodingError)?.reason, .varintTooLong)
      XCTAssertEqual((error as? KafkaDecodingError)?.field, "count")
    }
  }

  func testStringsNullableAndCompact() throws {
    var writer = KafkaWriter()
    writer.writeString("héllo")
    writer.writeString(nil)
    writer.writeCompactString("ab")
    writer.writeCompactString(nil)
    writer.writeBytes([1, 2])
    writer.writeCompactBytes(nil)
    writer.writeUUID(KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 2))
    writer.writeFloat64(2.5)
    var reader = KafkaReader(writer.bytes)
    XCTAssertEqual(try reader.readString(field: "s"), "héllo")
    XCTAssertNil(try reader.readString(field: "n", nullable: true))
    XCTAssertEqual(try reader.readCompactString(field: "c"), "ab")
    XCTAssertNil(try reader.readCompactString(field: "cn", nullable: true))
    XCTAssertEqual(try reader.readBytes(field: "b", nullable: false), [1, 2])
    XCTAssertNil(try reader.readCompactBytes(field: "cb", nullable: true))
    XCTAssertEqual(
      try reader.readUUID(field: "u"), KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 2))
    XCTAssertEqual(try reader.readFloat64(field: "f"), 2.5)
    XCTAssertTrue(reader.isAtEnd)
  }

  func testNullWhereNotNullableAndNegativeLengthsAreErrors() {
    var reader = KafkaReader([0xFF, 0xFF])
    XCTAssertThrowsError(try reader.readString(field: "Name")) { error in
      XCTAssertEqual((error as? KafkaDecodingError)?.reason, .invalidLength(-1))
    }
    reader = KafkaReader([0xFF, 0xFE])
    XCTAssertThrowsError(try reader.readString(field: "Name", nullable: true))
    reader = KafkaReader([0x00])
    XCTAssertThrowsError(try reader.readCompactString(field: "Name"))
    reader = KafkaReader([0xFF, 0xFF, 0xFF, 0xFE])
    XCTAssertThrowsError(try reader.readArrayCount(field: "Topics", nullable: true))
  }

  func testCountsLargerThanTheRemainingBytesFailBeforeAllocating() {
    var reader = KafkaReader([0x7F, 0xFF, 0xFF, 0xFF, 0])
    XCTAssertThrowsError(
      try reader.readArray(field: "Topics", compact: false, nullable: false) {
        (element: inout KafkaReader) throws(KafkaDecodingError) in try element.readInt8(field: "x")
      }
    ) { error in
      XCTAssertEqual(
        (error as? KafkaDecodingError)?.reason,
        .lengthExceedsRemaining(length: Int64(Int32.max), remaining: 1))
    }
    reader = KafkaReader([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    XCTAssertThrowsError(try reader.readCompactBytes(field: "Records", nullable: true))
    reader = KafkaReader([0x00, 0x05, 0x61])
    XCTAssertThrowsError(try reader.readString(field: "Name"))
  }

  func testInvalidUTF8AndBoolsAreErrors() {
    var reader = KafkaReader([0x00, 0x01, 0xFF])
    XCTAssertThrowsError(try reader.readString(field: "Name")) { error in
      XCTAssertEqual((error as? KafkaDecodingError)?.reason, .invalidUTF8)
    }
    reader = KafkaReader([2])
    XCTAssertThrowsError(try reader.readBool(field: "Flag"))
  }

  func testUnknownTaggedFieldsAreSkipped() throws {
    var tagged = KafkaTaggedFields()
    tagged.add(tag: 7) { $0.writeInt64(99) }
    tagged.add(tag: 0) { $0.writeCompactString("cluster") }
    var writer = KafkaWriter()
    writer.writeTaggedFields(tagged)
    writer.writeInt8(42)
    var reader = KafkaReader(writer.bytes)
    var seen: [UInt32] = []
    try reader.readTaggedFields(field: "T") { tag, _ in seen.append(tag) }
    XCTAssertEqual(seen, [0, 7], "written in tag order")
    XCTAssertEqual(try reader.readInt8(field: "after"), 42)

    // A flexible request with an unknown tag still decodes.
    var body = KafkaWriter()
    ApiVersionsRequest(clientSoftwareName: "x", clientSoftwareVersion: "1").write(
      to: &body, version: 3)
    var bytes = body.bytes
    bytes.removeLast()
    bytes += [1, 9, 3, 1, 2, 3]  // one field: tag 9, 3 bytes
    XCTAssertEqual(try ApiVersionsRequest(bytes: bytes, version: 3).clientSoftwareName, "x")
  }

  func testTaggedFieldSizeBeyondTheBufferIsAnError() {
    var reader = KafkaReader([1, 0, 0x7F])
    XCTAssertThrowsError(try reader.readTaggedFields(field: "T") { _, _ in })
  }

  func testLengthPrefixIsBackPatched() {
    var writer = KafkaWriter()
    let at = writer.reserveLengthPrefix()
    writer.writeInt16(7)
    writer.writeString("abc")
    writer.patchLengthPrefix(at: at)
    XCTAssertEqual(writer.bytes, [0, 0, 0, 7, 0, 7, 0, 3, 97, 98, 99])
  }

  func testHeaderVersionsFollowFlexibility() {
    XCTAssertEqual(ApiKey.produce.requestHeaderVersion(for: 8), 1)
    XCTAssertEqual(ApiKey.produce.requestHeaderVersion(for: 9), 2)
    XCTAssertEqual(ApiKey.produce.responseHeaderVersion(for: 9), 1)
    XCTAssertEqual(ApiKey.metadata.responseHeaderVersion(for: 8), 0)
    XCTAssertEqual(ApiKey.apiVersions.requestHeaderVersion(for: 3), 2)
    XCTAssertEqual(
      ApiKey.apiVersions.responseHeaderVersion(for: 3), 0, "ApiVersions answers with header v0")
    XCTAssertEqual(ApiKey.describeCluster.requestHeaderVersion(for: 0), 2)
    XCTAssertEqual(ApiKey.produce.supportedVersions, 0...11)
    XCTAssertEqual(ApiKey.produce.decodableVersions, 3...11)
    XCTAssertEqual(ApiKey.fetch.supportedVersions, 4...12)
  }

  func testErrorCodesMatchKafka() {
    XCTAssertEqual(KafkaErrorCode.unsupportedVersion.rawValue, 35)
    XCTAssertEqual(KafkaErrorCode.notLeaderOrFollower.rawValue, 6)
    XCTAssertEqual(KafkaErrorCode.unknownServerError.rawValue, -1)
    XCTAssertEqual(KafkaErrorCode.invalidRecord.rawValue, 87)
    XCTAssertEqual(KafkaErrorCode.producerFenced.rawValue, 90)
  }
}
