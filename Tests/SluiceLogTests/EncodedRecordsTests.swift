import Foundation
import SluiceCompression
import SluiceCore
import XCTest

@testable import SluiceLog

/// Records a source encodes itself (``EncodedRecords``): the same bytes the log encodes, read
/// back as written, decoded again for stores that encode their own, and refused as the log
/// refuses records.
final class EncodedRecordsTests: LogTestCase {
  private func sample() -> [LogRecord] {
    [
      record(1),
      // Older than the first: a negative timestamp delta.
      LogRecord(timestamp: 1_600_000_000_000, key: nil, value: Array("v".utf8)),
      LogRecord(
        timestamp: 1_700_000_000_500, key: Array("k".utf8), value: nil,
        headers: [
          LogHeader(name: "a", value: nil), LogHeader(name: "é", value: Array("x".utf8)),
        ]),
      record(4, size: 300),
    ]
  }

  func testTheLogsBatchOfEncodedRecordsIsByteForByteTheBatchOfTheRecords() {
    let records = sample()
    let encoded = EncodedRecords()
    for record in records { encoded.append(record) }
    XCTAssertEqual(encoded.count, 4)
    XCTAssertEqual(encoded.firstTimestamp, 1_700_000_000_001)
    XCTAssertEqual(encoded.minTimestamp, 1_600_000_000_000)
    XCTAssertEqual(encoded.maxTimestamp, 1_700_000_000_500)
    XCTAssertEqual(encoded.largestPayload, record(4, size: 300).payloadSize)
    XCTAssertEqual(
      encoded.keyValueBytes, records.reduce(0) { $0 + ($1.key?.count ?? 0) + ($1.value?.count ?? 0) })
    XCTAssertEqual(try encoded.decoded(), records)

    let batch = RecordBatch.frame(encoded)
    XCTAssertTrue(encoded.bytes.isEmpty, "the buffer went to the batch, not a copy")
    let header = batch.withUnsafeBytes { RecordBatch.header($0) }
    XCTAssertEqual(header?.recordCount, 4)
    XCTAssertEqual(header?.lastOffsetDelta, 3)
    XCTAssertEqual(header?.baseTimestamp, 1_700_000_000_001)
    XCTAssertEqual(header?.maxTimestamp, 1_700_000_000_500)
    XCTAssertEqual(header?.size, batch.count)
    XCTAssertTrue(batch.withUnsafeBytes { RecordBatch.crcIsValid($0, header: header!) })
    var decoded: [StoredLogRecord] = []
    XCTAssertNoThrow(
      try batch.withUnsafeBytes {
        try RecordBatch.records(
          $0, header: header!, from: 0, below: 4, into: &decoded, limit: 10)
      })
    XCTAssertEqual(
      decoded.map {
        LogRecord(timestamp: $0.timestamp, key: $0.key, value: $0.value, headers: $0.headers)
      }, records)
    XCTAssertEqual(decoded.map(\.offset), [0, 1, 2, 3])
  }

  /// A source appends each record as it comes and takes the last back out to give it headers
  /// of its own (the snapshot's position): what remains is the batch of the records before
  /// it, and the record put back with its headers makes the batch of all of them.
  func testTheLastRecordTakenBackAndPutBackWithHeadersMakesTheBatchOfTheRecords() throws {
    let records = sample()
    let encoded = EncodedRecords()
    for record in records { encoded.append(record) }
    let last = try XCTUnwrap(encoded.removeLast())
    XCTAssertEqual(last, records[3])
    XCTAssertEqual(encoded.count, 3)
    XCTAssertEqual(try encoded.decoded(), Array(records.prefix(3)))
    XCTAssertEqual(
      encoded.keyValueBytes,
      records.prefix(3).reduce(0) { $0 + ($1.key?.count ?? 0) + ($1.value?.count ?? 0) })

    var amended = records[3]
    amended.headers.append(LogHeader(name: "sluice.position", value: Array("p1".utf8)))
    encoded.append(amended)
    let expected = EncodedRecords()
    for record in records.prefix(3) + [amended] { expected.append(record) }
    XCTAssertEqual(encoded.bytes, expected.bytes)
    XCTAssertEqual(encoded.count, 4)

    // Down to none, then nothing more to take.
    for _ in 0..<4 { XCTAssertNotNil(encoded.removeLast()) }
    XCTAssertNil(encoded.removeLast())
    XCTAssertEqual(encoded.recordBytes, 0)
    XCTAssertEqual(encoded.keyValueBytes, 0)
  }

  func testEncodedRecordsAppendToThePartitionAfterRecordsAndReadBack() async throws {
    let log = try EmbeddedLog(directory: directory)
    try log.createTopic("t", partitions: 1)
    _ = try await log.append([record(0)], topic: "t", partition: 0)
    let encoded = EncodedRecords(capacity: 1024)
    for record in sample() { encoded.append(record) }
    let base = try await log.append(encoded: encoded, topic: "t", partition: 0)
    XCTAssertEqual(base, 1)
    let all = try readAll(log, "t")
    XCTAssertEqual(all.map(\.offset), [0, 1, 2, 3, 4])
    XCTAssertEqual(
      all.dropFirst().map {
        LogRecord(timestamp: $0.timestamp, key: $0.key, value: $0.value, headers: $0.headers)
      }, sample())
    log.close()
  }

  func testEncodedRecordsOverTheLimitOrOutOfTimeAreRefusedAndNothingIsWritten() async throws {
    let log = try EmbeddedLog(
      directory: directory, configuration: LogConfiguration(maxRecordBytes: 1000))
    try log.createTopic("t", partitions: 1)
    let large = EncodedRecords()
    large.append(record(1))
    large.append(record(2, size: 5000))
    do {
      _ = try await log.append(encoded: large, topic: "t", partition: 0)
      XCTFail("expected recordTooLarge")
    } catch LogError.recordTooLarge(let size, let limit) {
      XCTAssertGreaterThan(size, 5000)
      XCTAssertEqual(limit, 1000)
    }
    let early = EncodedRecords()
    early.append(record(1))
    early.append(LogRecord(timestamp: -5, key: nil, value: nil))
    do {
      _ = try await log.append(encoded: early, topic: "t", partition: 0)
      XCTFail("expected timestampOutOfRange")
    } catch LogError.timestampOutOfRange(let timestamp) {
      XCTAssertEqual(timestamp, -5)
    }
    XCTAssertEqual(try log.offsets(topic: "t", partition: 0).end, 0)
    log.close()
  }

  /// With the log's LZ4 compressor the records are compressed as they come, a 64 KiB chunk
  /// at a time on the source's thread; the newest stays uncompressed, so the last record can
  /// still be taken back and put back with its headers. The log frames the batch as it is:
  /// one LZ4 frame that reads back as the records, and as the same records section the
  /// uncompressed encoding writes.
  func testRecordsCompressedAsTheyComeAreOneLZ4BatchThatReadsBack() async throws {
    let log = try EmbeddedLog(
      directory: directory, configuration: LogConfiguration(compression: .lz4))
    try log.createTopic("t", partitions: 1)
    let compressor = try XCTUnwrap(log.recordsCompressor)
    XCTAssertEqual(compressor.codec, 3)
    // 600 records of about 320 bytes: three chunks and some.
    var records = (0..<600).map { record($0, size: 300) }
    let encoded = EncodedRecords(compressor: compressor)
    for record in records { encoded.append(record) }
    XCTAssertTrue(encoded.isCompressed)
    // All but the last chunk compressed, that one not yet.
    XCTAssertLessThan(encoded.recordBytes, 600 * 300 / 2, "compressed as they came")
    XCTAssertThrowsError(try encoded.decoded()) { XCTAssertTrue($0 is EncodedRecordsCompressed) }
    // The newest record, then one more (the chunk's records before it are not compressed yet).
    XCTAssertEqual(encoded.removeLast(), records[599])
    XCTAssertEqual(encoded.removeLast(), records[598])
    XCTAssertEqual(encoded.count, 598)
    records[598].headers.append(LogHeader(name: "sluice.position", value: Array("p".utf8)))
    encoded.append(records[598])
    records.removeLast()

    let base = try await log.append(encoded: encoded, topic: "t", partition: 0)
    XCTAssertEqual(base, 0)
    let all = try readAll(log, "t")
    XCTAssertEqual(all.map(\.offset), (0..<599).map(Int64.init))
    XCTAssertEqual(
      all.map {
        LogRecord(timestamp: $0.timestamp, key: $0.key, value: $0.value, headers: $0.headers)
      }, records)
    let stored = try log.readBatches(topic: "t", partition: 0, from: 0, maxBytes: 1 << 20)
    let header = try XCTUnwrap(stored.withUnsafeBytes { RecordBatch.header($0) })
    XCTAssertEqual(header.size, stored.count, "one batch")
    XCTAssertEqual(stored[22] & 0x07, 3, "lz4 in the attributes")
    XCTAssertTrue(stored.withUnsafeBytes { RecordBatch.crcIsValid($0, header: header) })
    let plain = EncodedRecords()
    for record in records { plain.append(record) }
    let section = try RecordBatchCompression.lz4.decompress(
      Array(stored.dropFirst(EncodedRecords.headerSize)), limit: 1 << 20)
    XCTAssertEqual(section, Array(plain.bytes.dropFirst(EncodedRecords.headerSize)))
    log.close()
  }
}
