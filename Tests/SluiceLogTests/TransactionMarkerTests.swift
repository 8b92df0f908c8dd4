import Foundation
import XCTest

@testable import SluiceLog

/// Transaction markers: written by the broker only (producers cannot send control batches),
/// found again with the transactional batches, skipped by Sluice's record readers, and a
/// read_committed fetch stops before a given offset.
final class TransactionMarkerTests: LogTestCase {
  /// A transactional producer's batch of `count` records.
  private func transactional(_ count: Int, first: Int, producer: Int64, sequence: Int32)
    throws -> ProducedBatch
  {
    var bytes = RecordBatch.encode((first..<first + count).map { record($0) })
    func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
      withUnsafeBytes(of: value.bigEndian) { raw in
        for (i, byte) in raw.enumerated() { bytes[offset + i] = byte }
      }
    }
    put(Int16(RecordBatch.transactionalBit), at: 21)
    put(producer, at: 43)
    put(Int16(0), at: 51)
    put(sequence, at: 53)
    put(CRC32C.checksum(Array(bytes[21...])), at: 17)
    return try ProducedBatch(validating: bytes, maxBytes: 1 << 20)
  }

  /// Producer 7's `marker` at the end of partition t-0.
  private func appendMarker(_ marker: TransactionMarker, timestamp: Int64, to log: EmbeddedLog)
    async throws
  {
    _ = try await log.append(
      marker.batch(producerID: 7, producerEpoch: 0, coordinatorEpoch: 0, timestamp: timestamp),
      topic: "t", partition: 0)
  }

  /// A marker's timestamp is when its transaction ended, later than the records after it: a
  /// lookup by timestamp passes over it to the records (it used to stop at the marker, find no
  /// record in it and give up on the segment, answering -1 to ListOffsets).
  func testALookupByTimestampPassesOverMarkers() async throws {
    let log = try EmbeddedLog(directory: directory, configuration: LogConfiguration())
    try log.createTopic("t", partitions: 1)
    _ = try await log.append(
      transactional(3, first: 0, producer: 7, sequence: 0), topic: "t", partition: 0)
    try await appendMarker(.commit, timestamp: 1_700_000_001_000, to: log)
    _ = try await log.append(
      transactional(3, first: 10, producer: 7, sequence: 3), topic: "t", partition: 0)
    try await appendMarker(.commit, timestamp: 1_700_000_001_000, to: log)
    let found = try log.firstRecord(topic: "t", partition: 0, atOrAfter: 1_700_000_000_005)
    XCTAssertEqual(found?.offset, 4, "record 10, after the first marker at offset 3")
    XCTAssertEqual(found?.timestamp, 1_700_000_000_010)
    let none = try log.firstRecord(topic: "t", partition: 0, atOrAfter: 1_700_000_000_500)
    XCTAssertNil(none, "only markers are that late")
    log.close()
  }

  func testAMarkerIsAControlBatchAProducerCannotSend() throws {
    let marker = TransactionMarker.commit.batch(
      producerID: 7, producerEpoch: 3, coordinatorEpoch: 0, timestamp: 1_700_000_000_000)
    XCTAssertTrue(marker.isControl)
    XCTAssertTrue(marker.isTransactional)
    let header = marker.bytes.withUnsafeBytes { RecordBatch.header($0) }!
    XCTAssertTrue(marker.bytes.withUnsafeBytes { RecordBatch.crcIsValid($0, header: header) })
    XCTAssertEqual(marker.bytes.withUnsafeBytes { TransactionMarker.read($0) }, .commit)
    XCTAssertThrowsError(try ProducedBatch(validating: marker.bytes, maxBytes: 1 << 20)) {
      XCTAssertEqual(
        $0 as? ProducedBatchError, .invalidRecord("a producer cannot send control batches"))
    }
  }

  func testMarkersAreFoundWithTransactionalBatchesAndSkippedByRecordReaders() async throws {
    let log = try EmbeddedLog(
      directory: directory,
      configuration: LogConfiguration(segmentBytes: 2048, indexIntervalBytes: 256))
    try log.createTopic("t", partitions: 1)
    _ = try await log.append(
      transactional(3, first: 0, producer: 7, sequence: 0), topic: "t", partition: 0)
    try await appendMarker(.abort, timestamp: 1, to: log)
    _ = try await log.append(
      transactional(2, first: 4, producer: 7, sequence: 3), topic: "t", partition: 0)
    try await appendMarker(.commit, timestamp: 1, to: log)
    for i in 0..<20 {
      _ = try await log.append(
        transactional(1, first: 7 + i, producer: 8, sequence: Int32(i)), topic: "t", partition: 0)
    }

    // Records: the markers (offsets 3 and 6) are not records.
    let records = try readAll(log, "t")
    XCTAssertEqual(records.map(\.offset), [0, 1, 2, 4, 5] + (7..<27).map { Int64($0) })
    // read_committed: not the aborted transaction (0-2), not the open one (7 on).
    XCTAssertEqual(
      try log.read(topic: "t", partition: 0, from: 0, maxRecords: 100, committedOnly: true).map(
        \.offset), [4, 5])
    XCTAssertEqual(
      try log.read(topic: "t", partition: 0, from: 0, maxRecords: 1, committedOnly: true).map(
        \.offset), [4], "skipped batches do not count against the limit")
    XCTAssertEqual(
      try log.read(topic: "t", partition: 0, from: 7, maxRecords: 100, committedOnly: true), [])
    let transactions = try log.transactions(topic: "t", partition: 0)
    XCTAssertEqual(transactions.lastStableOffset(highWatermark: 27), 7)
    XCTAssertEqual(transactions.aborted, [.init(producerID: 7, firstOffset: 0, lastOffset: 3)])

    let (all, end) = try log.transactionBatches(topic: "t", partition: 0, from: 0)
    XCTAssertEqual(end, 27)
    XCTAssertEqual(all.map(\.baseOffset), [0, 3, 4, 6] + (7..<27).map { Int64($0) })
    XCTAssertEqual(all.map(\.marker)[0..<4], [nil, .abort, nil, .commit])
    XCTAssertTrue(all.allSatisfy(\.isTransactional))
    // From a later offset (several segments on): only what holds offsets at or after it.
    let tail = try log.transactionBatches(topic: "t", partition: 0, from: 20).batches
    XCTAssertEqual(tail.map(\.baseOffset), (20..<27).map { Int64($0) })
    // The producers' rebuild sees the markers as such.
    let recent = try log.recentProducerBatches(topic: "t", partition: 0, window: 1 << 20)
    XCTAssertEqual(recent.filter { $0.marker != nil }.map(\.baseOffset), [3, 6])

    // A fetch bounded by a last stable offset stops before the batch holding it.
    let bounded = try log.readBatches(
      topic: "t", partition: 0, from: 0, below: 6, maxBytes: 1 << 20)
    var position = 0
    var bases: [Int64] = []
    while position < bounded.count {
      let header = bounded[position...].withUnsafeBytes { RecordBatch.header($0) }!
      bases.append(header.baseOffset)
      position += header.size
    }
    XCTAssertEqual(bases, [0, 3, 4])
    var nothing: [UInt8] = []
    XCTAssertEqual(
      try log.readBatches(
        topic: "t", partition: 0, from: 6, below: 6, maxBytes: 1 << 20, into: &nothing), 0)
  }
}
