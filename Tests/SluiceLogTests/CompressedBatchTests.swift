import Foundation
import SluiceLog
import XCTest

/// Batches as Kafka clients produced them, compressed with each codec, stored in a segment as
/// they came (as the Kafka listener will store them) and read back through the log's read
/// path. The batches are Tests/SluiceCompressionTests/Fixtures, built by kafka-python and
/// librdkafka.
final class CompressedBatchTests: LogTestCase {
  private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("SluiceCompressionTests/Fixtures")

  private func fixture(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(name + ".batch")))
  }

  /// Record `i` of every fixture batch (make-fixtures.py's `record(i)`).
  private func expected(_ i: Int) -> LogRecord {
    LogRecord(
      timestamp: 1_700_000_000_000 + Int64(i) * 7,
      key: i % 10 == 0 ? nil : Array("key-\(i)".utf8),
      value: i == 3
        ? nil : Array(("value-\(i)-" + String(repeating: "abcdefghij", count: 25)).utf8),
      headers: i % 2 == 0
        ? [
          LogHeader(name: "trace", value: Array("t-\(i)".utf8)),
          LogHeader(name: "empty", value: nil),
        ]
        : [])
  }

  /// A log whose partition t/0 holds `batches` back to back, each given the base offset that
  /// follows the one before (outside the CRC, as the writer places batches). Opened as after a
  /// crash, so recovery checks every batch's CRC first.
  private func log(holding batches: [[UInt8]]) throws -> EmbeddedLog {
    let empty = try EmbeddedLog(directory: directory)
    try empty.createTopic("t", partitions: 1)
    empty.close()
    var segment: [UInt8] = []
    var next: Int64 = 0
    for var batch in batches {
      batch.replaceSubrange(0..<8, with: withUnsafeBytes(of: next.bigEndian, Array.init))
      next += Int64(batch[23..<27].reduce(0) { $0 << 8 | Int($1) }) + 1  // lastOffsetDelta + 1
      segment += batch
    }
    try Data(segment).write(to: URL(fileURLWithPath: try segmentFiles("t")[0]))
    try FileManager.default.removeItem(atPath: directory + "/.clean-shutdown")
    return try EmbeddedLog(directory: directory)
  }

  func testReadsBatchesKafkaPythonCompressedWithEachCodec() async throws {
    // kafka-python's producer batches, librdkafka's, and snappy-raw: kafka-python's unframed.
    let codecs = [
      "none", "gzip", "snappy", "lz4", "zstd", "librdkafka-gzip", "librdkafka-snappy",
      "librdkafka-lz4", "librdkafka-zstd", "snappy-raw",
    ]
    let log = try log(holding: try codecs.map(fixture))
    let total = 300 * codecs.count
    XCTAssertEqual(
      try log.offsets(topic: "t", partition: 0).end, Int64(total), "recovery kept every batch")
    let records = try readAll(log, "t")
    XCTAssertEqual(records.map(\.offset), (0..<total).map(Int64.init))
    for (n, record) in records.enumerated() {
      let want = expected(n % 300)
      let codec = codecs[n / 300]
      XCTAssertEqual(record.timestamp, want.timestamp, "\(codec) record \(n % 300)")
      XCTAssertEqual(record.key, want.key, "\(codec) record \(n % 300)")
      XCTAssertEqual(record.value, want.value, "\(codec) record \(n % 300)")
      XCTAssertEqual(record.headers, want.headers, "\(codec) record \(n % 300)")
    }
    // Sluice's own (uncompressed) batches follow on after the client's.
    let base = try await log.append([record(1)], topic: "t", partition: 0)
    XCTAssertEqual(base, Int64(total))
    XCTAssertEqual(
      try log.read(topic: "t", partition: 0, from: Int64(total) - 1, maxRecords: 2).count, 2)
    log.close()
  }

  func testReadFromInsideACompressedBatchStartsAtThatOffset() throws {
    let log = try log(holding: [try fixture("zstd"), try fixture("lz4")])
    let records = try log.read(topic: "t", partition: 0, from: 450, maxRecords: 10)
    XCTAssertEqual(records.map(\.offset), (450..<460).map(Int64.init))
    XCTAssertEqual(records.map(\.value), (150..<160).map { expected($0).value })
    log.close()
  }

  func testCorruptCompressedDataIsACorruptSegmentErrorNamingTheCodec() throws {
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
      try? FileManager.default.removeItem(atPath: directory)
      let log = try log(holding: [try fixture("corrupt-\(codec)")])
      XCTAssertThrowsError(try readAll(log, "t"), codec) { error in
        guard case .corruptSegment(_, let position, let reason) = error as? LogError else {
          return XCTFail("\(codec): \(error)")
        }
        XCTAssertEqual(position, 0)
        XCTAssertTrue(reason.contains("batch at offset 0: \(codec) data is corrupt"), reason)
      }
      log.close()
    }
  }

  func testUnknownCodecIsACorruptSegmentError() throws {
    let log = try log(holding: [try fixture("unknown-codec")])
    XCTAssertThrowsError(try readAll(log, "t")) { error in
      XCTAssertTrue("\(error)".contains("compression codec 5 is not one Kafka defines"), "\(error)")
    }
    log.close()
  }

  /// A few KiB that expand to 65 MiB of zeros: refused at 64 MiB, never held whole.
  func testDecompressionBombIsRefusedAtTheLimit() throws {
    // zstd-unsized: a frame without its content size, stopped while decoding.
    for (name, codec) in [("gzip", "gzip"), ("zstd", "zstd"), ("zstd-unsized", "zstd")] {
      try? FileManager.default.removeItem(atPath: directory)
      let log = try log(holding: [try fixture("bomb-\(name)")])
      XCTAssertThrowsError(try readAll(log, "t"), codec) { error in
        XCTAssertTrue(
          "\(error)".contains(
            "\(codec) data decompresses to more than the limit of 67108864 bytes"),
          "\(error)")
      }
      log.close()
    }
  }
}
