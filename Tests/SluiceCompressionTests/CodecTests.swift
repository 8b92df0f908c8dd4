import Foundation
import SluiceCompression
import XCTest

/// Each codec on its own: round trips, the output limit, and damaged input.
final class CodecTests: XCTestCase {
  private let codecs: [RecordBatchCompression] = [.gzip, .snappy, .lz4, .zstd]

  /// Text-like data that compresses, longer than snappy's 32 KiB and LZ4's 64 KiB blocks.
  private let sample: [UInt8] = (0..<20_000).flatMap {
    Array("record \($0 % 997) of a batch;".utf8)
  }

  func testEveryCodecRoundTrips() throws {
    for codec in codecs {
      for input in [sample, [], [42], [UInt8](repeating: 0, count: 1 << 20)] {
        let compressed = try codec.compress(input)
        XCTAssertEqual(
          try codec.decompress(compressed, limit: input.count), input,
          "\(codec), \(input.count) bytes")
        XCTAssertEqual(try codec.decompress(compressed, limit: .max), input, "\(codec), no limit")
      }
      XCTAssertLessThan(try codec.compress(sample).count, sample.count / 3, "\(codec) compresses")
    }
  }

  func testCompressingAfterAPrefixKeepsThePrefixAndWritesTheSameStream() throws {
    let prefix: [UInt8] = Array(repeating: 7, count: 61)
    for codec in codecs + [.none] {
      var output = prefix
      try sample.withUnsafeBytes { try codec.compress($0, appendingTo: &output) }
      XCTAssertEqual(Array(output.prefix(61)), prefix, "\(codec)")
      let stream = Array(output.dropFirst(61))
      XCTAssertEqual(stream, try codec.compress(sample), "\(codec)")
      XCTAssertEqual(try codec.decompress(stream, limit: sample.count), sample, "\(codec)")
    }
  }

  func testNoneIsTheBytesThemselves() throws {
    XCTAssertEqual(try RecordBatchCompression.none.compress([1, 2, 3]), [1, 2, 3])
    XCTAssertEqual(try RecordBatchCompression.none.decompress([1, 2, 3], limit: 3), [1, 2, 3])
    XCTAssertThrowsError(try RecordBatchCompression.none.decompress([1, 2, 3], limit: 2))
  }

  func testAttributesNameTheCodecInBitsZeroToTwo() throws {
    XCTAssertEqual(try RecordBatchCompression(attributes: 0), RecordBatchCompression.none)
    XCTAssertEqual(try RecordBatchCompression(attributes: 4), .zstd)
    // Timestamp type (bit 3), transactional (bit 4) and control (bit 5) do not matter.
    XCTAssertEqual(try RecordBatchCompression(attributes: 0b11_1010), .snappy)
    for code: Int16 in 5...7 {
      XCTAssertThrowsError(try RecordBatchCompression(attributes: code)) {
        XCTAssertEqual($0 as? CompressionError, .unknownCodec(Int(code)))
      }
    }
  }

  /// A decompression bomb: 4 MiB of zeros is a few KiB compressed (snappy: 200 KiB); a
  /// 256 KiB limit stops it there, and exactly its size is allowed.
  func testOutputPastTheLimitThrowsAndTheLimitItselfIsAllowed() throws {
    let zeros = [UInt8](repeating: 0, count: 4 << 20)
    for codec in codecs {
      let bomb = try codec.compress(zeros)
      XCTAssertLessThan(bomb.count, 256 << 10, "\(codec)")
      XCTAssertThrowsError(try codec.decompress(bomb, limit: 256 << 10), "\(codec)") { error in
        guard case .limitExceeded(_, let limit) = error as? CompressionError else {
          return XCTFail("\(codec): \(error)")
        }
        XCTAssertEqual(limit, 256 << 10)
      }
      XCTAssertEqual(try codec.decompress(bomb, limit: zeros.count).count, zeros.count, "\(codec)")
      XCTAssertThrowsError(try codec.decompress(bomb, limit: zeros.count - 1), "\(codec)")
    }
  }

  func testCorruptAndTruncatedInputThrows() throws {
    for codec in codecs {
      let compressed = try codec.compress(sample)
      var damaged = compressed
      for i in stride(from: damaged.count / 3, to: damaged.count / 3 + 8, by: 1) {
        damaged[i] ^= 0xA5
      }
      for input in [damaged, Array(compressed.prefix(compressed.count / 2)), Array("junk".utf8)] {
        // Either the codec notices (gzip checks a CRC-32, the others only their own lengths
        // and offsets: the batch's CRC-32C is what guards the bytes) or the output differs;
        // never a crash.
        do {
          let output = try codec.decompress(input, limit: 1 << 24)
          XCTAssertNotEqual(output, sample, "\(codec): damage went unnoticed")
        } catch let error as CompressionError {
          XCTAssertTrue(error.description.contains("\(codec)"), "\(error)")
        }
      }
      XCTAssertThrowsError(
        try codec.decompress(Array(compressed.prefix(compressed.count / 2)), limit: 1 << 24),
        "\(codec) truncated")
    }
  }

  func testSnappyWritesXerialFramingInThirtyTwoKiBBlocks() throws {
    let framed = try RecordBatchCompression.snappy.compress(sample)
    XCTAssertEqual(
      Array(framed.prefix(16)), [0x82] + Array("SNAPPY".utf8) + [0, 0, 0, 0, 1, 0, 0, 0, 1])
    // Walk the blocks: each raw block states its length, at most 32 KiB.
    var position = 16
    var blocks = 0
    while position < framed.count {
      let length = framed[position..<(position + 4)].reduce(0) { $0 << 8 | Int($1) }
      position += 4 + length
      blocks += 1
    }
    XCTAssertEqual(position, framed.count)
    XCTAssertEqual(blocks, (sample.count + 32767) / 32768)
  }

  func testSnappyAlsoReadsARawBlock() throws {
    // A raw Snappy block: length varint 5, then a literal of 5 bytes (tag (5-1)<<2).
    let raw: [UInt8] = [5, 4 << 2] + Array("hello".utf8)
    XCTAssertEqual(try RecordBatchCompression.snappy.decompress(raw, limit: 5), Array("hello".utf8))
    XCTAssertThrowsError(try RecordBatchCompression.snappy.decompress(raw, limit: 4))
  }

  func testGzipReadsConcatenatedMembers() throws {
    let first = try RecordBatchCompression.gzip.compress(Array("first,".utf8))
    let second = try RecordBatchCompression.gzip.compress(Array("second".utf8))
    XCTAssertEqual(
      try RecordBatchCompression.gzip.decompress(first + second, limit: 100),
      Array("first,second".utf8))
  }

  /// A frame written a piece at a time (a snapshot reader's events, then the writer's last
  /// one) is one frame: header, independent blocks of at most 64 KiB, end mark.
  func testAnLZ4FrameWrittenInPiecesIsOneFrameOfIndependentBlocks() throws {
    let last = Array("the last record, with its position".utf8)
    var frame = LZ4Frame.frameHeader
    sample.withUnsafeBytes { LZ4Frame.appendBlocks($0, to: &frame) }
    last.withUnsafeBytes { LZ4Frame.appendBlocks($0, to: &frame) }
    frame += LZ4Frame.endMark
    XCTAssertEqual(try RecordBatchCompression.lz4.decompress(frame, limit: .max), sample + last)
    // Magic number, then flags: version 1 and independent blocks (0x60), 64 KiB blocks (0x40).
    XCTAssertEqual(Array(frame.prefix(6)), [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40])
    // Walk the blocks: one per 64 KiB of the sample, one for the last record, then the end.
    var position = LZ4Frame.frameHeader.count
    var sizes: [Int] = []
    while true {
      let size = frame[position..<(position + 4)].reversed().reduce(0) { $0 << 8 | Int($1) }
      position += 4
      if size == 0 { break }
      sizes.append(size & 0x7FFF_FFFF)
      position += size & 0x7FFF_FFFF
    }
    XCTAssertEqual(position, frame.count)
    XCTAssertEqual(sizes.count, (sample.count + 65535) / 65536 + 1)
    XCTAssertTrue(sizes.allSatisfy { $0 <= 65536 }, "\(sizes)")
  }

  /// Bytes that do not shrink go in a block stored as it is (the size's high bit set).
  func testAnLZ4BlockThatDoesNotShrinkIsStoredAsItIs() throws {
    var generator = SystemRandomNumberGenerator()
    let noise = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let frame = try RecordBatchCompression.lz4.compress(noise)
    let header = LZ4Frame.frameHeader.count
    XCTAssertEqual(Array(frame[header..<(header + 4)]), [0xE8, 0x03, 0x00, 0x80])
    XCTAssertEqual(Array(frame[(header + 4)..<(header + 1004)]), noise)
    XCTAssertEqual(Array(frame.suffix(4)), LZ4Frame.endMark)
    XCTAssertEqual(try RecordBatchCompression.lz4.decompress(frame, limit: 1000), noise)
  }
}
