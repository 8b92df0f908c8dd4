import Foundation
import SluiceCompression
import SluiceCore
import XCTest

@testable import SluiceLog

/// `log.compression`: the batches the log encodes itself (records and a source's encoded
/// records) are written with the configured codec, read back as they were, survive a restart's
/// recovery, and take less disk for data that compresses.
final class CompressedAppendTests: LogTestCase {
  /// Records with repetitive values, as JSON events are.
  private func records(_ range: Range<Int>) -> [LogRecord] {
    range.map { record($0, size: 400) }
  }

  /// The codec bits of every batch in the partition's segment files, in order.
  private func codecs(_ topic: String) throws -> [Int16] {
    var found: [Int16] = []
    for path in try segmentFiles(topic) {
      let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
      var at = 0
      while at + RecordBatch.headerSize <= bytes.count {
        guard
          let header = bytes.withUnsafeBytes({
            RecordBatch.header(UnsafeRawBufferPointer(rebasing: $0[at...]))
          })
        else { break }
        XCTAssertTrue(
          bytes.withUnsafeBytes {
            RecordBatch.crcIsValid(UnsafeRawBufferPointer(rebasing: $0[at...]), header: header)
          })
        found.append(header.attributes & RecordBatchCompression.attributesMask)
        at += header.size
      }
    }
    return found
  }

  private func segmentBytes(_ topic: String) throws -> Int {
    try segmentFiles(topic).reduce(0) {
      $0 + ((try FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0)
    }
  }

  private func plain(_ stored: [StoredLogRecord]) -> [LogRecord] {
    stored.map {
      LogRecord(timestamp: $0.timestamp, key: $0.key, value: $0.value, headers: $0.headers)
    }
  }

  func testEachCodecWritesItsBatchesCompressedAndReadsThemBackAfterARestart() async throws {
    let uncompressed = try EmbeddedLog(directory: directory)
    try uncompressed.createTopic("plain", partitions: 1)
    _ = try await uncompressed.append(records(0..<200), topic: "plain", partition: 0)
    uncompressed.close()
    let plainBytes = try segmentBytes("plain")
    XCTAssertEqual(try codecs("plain"), [0])

    for codec in [RecordBatchCompression.gzip, .snappy, .lz4, .zstd] {
      let topic = "t-\(codec)"
      var log = try EmbeddedLog(
        directory: directory, configuration: LogConfiguration(compression: codec))
      try log.createTopic(topic, partitions: 1)
      let first = try await log.append(records(0..<200), topic: topic, partition: 0)
      XCTAssertEqual(first, 0)
      let encoded = EncodedRecords(reusing: log.recycledBuffer(), capacity: 1 << 16)
      for record in records(200..<300) { encoded.append(record) }
      let second = try await log.append(encoded: encoded, topic: topic, partition: 0)
      XCTAssertEqual(second, 200)
      XCTAssertEqual(plain(try readAll(log, topic)), records(0..<300), "\(codec)")
      log.close()

      XCTAssertEqual(try codecs(topic), [codec.rawValue, codec.rawValue], "\(codec)")
      XCTAssertLessThan(try segmentBytes(topic), plainBytes / 2, "\(codec) takes less disk")

      // Recovery reads the compressed batches; a log without the setting appends after them.
      log = try EmbeddedLog(directory: directory)
      XCTAssertEqual(try log.offsets(topic: topic, partition: 0).end, 300)
      let after = try await log.append(records(300..<301), topic: topic, partition: 0)
      XCTAssertEqual(after, 300)
      let all = try readAll(log, topic)
      XCTAssertEqual(all.map(\.offset), Array(0..<301).map(Int64.init), "\(codec)")
      XCTAssertEqual(plain(all), records(0..<301), "\(codec)")
      log.close()
      XCTAssertEqual(try codecs(topic), [codec.rawValue, codec.rawValue, 0], "\(codec)")
    }
  }

  func testACompressedBatchIsRefusedLikeAnUncompressedOneAndNothingIsWritten() async throws {
    let log = try EmbeddedLog(
      directory: directory,
      configuration: LogConfiguration(maxRecordBytes: 1000, compression: .zstd))
    try log.createTopic("t", partitions: 1)
    // A record that compresses far below the limit is still over it: the limit is on records.
    let large = LogRecord(
      timestamp: 1_700_000_000_000, key: nil, value: [UInt8](repeating: 1, count: 5000))
    do {
      _ = try await log.append([large], topic: "t", partition: 0)
      XCTFail("expected recordTooLarge")
    } catch LogError.recordTooLarge(let size, let limit) {
      XCTAssertEqual(size, 5000)
      XCTAssertEqual(limit, 1000)
    }
    XCTAssertEqual(try log.offsets(topic: "t", partition: 0).end, 0)
    let base = try await log.append(records(0..<2), topic: "t", partition: 0)
    XCTAssertEqual(base, 0)
    XCTAssertEqual(plain(try readAll(log, "t")), records(0..<2))
    log.close()
  }
}
