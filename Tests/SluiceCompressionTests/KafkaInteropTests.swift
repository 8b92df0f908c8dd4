import Foundation
import SluiceCompression
import XCTest

/// Sluice's decompressors on what Kafka clients (kafka-python and librdkafka,
/// Fixtures/make-fixtures.py) compressed, and Sluice's compressors' output for kafka-python to
/// read back.
final class KafkaInteropTests: XCTestCase {
  func testDecompressesEachCodecAsKafkaPythonCompressedIt() throws {
    // The uncompressed batch holds the same records: its section is what each codec hid.
    let expected = try Fixture.recordsSection("none")
    for codec: RecordBatchCompression in [.gzip, .snappy, .lz4, .zstd] {
      let batch = try Fixture.bytes("\(codec)")
      let attributes = Int16(batch[21]) << 8 | Int16(batch[22])
      XCTAssertEqual(try RecordBatchCompression(attributes: attributes), codec)
      XCTAssertEqual(
        try codec.decompress(Array(batch[61...]), limit: 64 << 20), expected, "\(codec)")
    }
    // librdkafka (confluent-kafka) encodes the same records byte for byte, compressed its own
    // way: gzip without a timestamp, snappy unframed (one raw block), LZ4 without content size.
    for codec: RecordBatchCompression in [.gzip, .snappy, .lz4, .zstd] {
      XCTAssertEqual(
        try codec.decompress(try Fixture.recordsSection("librdkafka-\(codec)"), limit: 64 << 20),
        expected, "librdkafka \(codec)")
    }
    // kafka-python's codec unframed, as librdkafka writes snappy.
    XCTAssertEqual(
      try RecordBatchCompression.snappy.decompress(
        try Fixture.recordsSection("snappy-raw"), limit: 64 << 20), expected)
  }

  func testKafkaPythonsDamagedBatchesThrow() throws {
    // Each has one byte flipped where kafka-python's own decoder gives up.
    for codec: RecordBatchCompression in [.gzip, .snappy, .lz4, .zstd] {
      XCTAssertThrowsError(
        try codec.decompress(try Fixture.recordsSection("corrupt-\(codec)"), limit: 64 << 20),
        "\(codec)"
      ) {
        guard case .corrupt = $0 as? CompressionError else { return XCTFail("\(codec): \($0)") }
      }
    }
  }

  func testKafkaPythonsBombsStopAtTheLimit() throws {
    // zstd-unsized: no content size in the frame, so stopped while decoding.
    let bombs: [(String, RecordBatchCompression)] = [
      ("gzip", .gzip), ("zstd", .zstd), ("zstd-unsized", .zstd),
    ]
    for (name, codec) in bombs {
      XCTAssertThrowsError(
        try codec.decompress(try Fixture.recordsSection("bomb-\(name)"), limit: 64 << 20)
      ) {
        XCTAssertEqual($0 as? CompressionError, .limitExceeded(codec: "\(codec)", limit: 64 << 20))
      }
    }
  }
}
