import Foundation
import SluiceCore
import XCTest

@testable import SluiceLog

/// Batches as Kafka producers send them: checked, stored as they came, served whole, found by
/// timestamp, and their producer fields recovered after a restart.
final class ProducedBatchTests: LogTestCase {
  /// A producer's batch of `count` records (base offset 0, producer fields set, CRC right).
  func producedBatch(
    _ count: Int, first: Int = 0, timestamp: Int64 = 1_700_000_000_000,
    producer: (id: Int64, epoch: Int16, sequence: Int32) = (7, 0, 0), recordSize: Int = 100
  ) -> [UInt8] {
    var bytes = RecordBatch.encode(
      (first..<first + count).map { record($0, size: recordSize, timestamp: timestamp) })
    func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
      withUnsafeBytes(of: value.bigEndian) { raw in
        for (i, byte) in raw.enumerated() { bytes[offset + i] = byte }
      }
    }
    put(Int32(-1), at: 12)
    put(producer.id, at: 43)
    put(producer.epoch, at: 51)
    put(producer.sequence, at: 53)
    put(CRC32C.checksum(Array(bytes[21...])), at: 17)
    return bytes
  }

  func testAValidBatchIsAcceptedWithItsProducerFieldsAndLeaderEpochCleared() throws {
    let batch = try ProducedBatch(
      validating: producedBatch(3, producer: (9, 2, 40)), maxBytes: 1 << 20)
    XCTAssertEqual(batch.recordCount, 3)
    XCTAssertEqual(batch.producerID, 9)
    XCTAssertEqual(batch.producerEpoch, 2)
    XCTAssertEqual(batch.baseSequence, 40)
    XCTAssertEqual(batch.lastSequence, 42)
    XCTAssertEqual(batch.compression, 0)
    XCTAssertEqual(Array(batch.bytes[12..<16]), [0, 0, 0, 0])
    XCTAssertEqual(ProducerFields.lastSequence(base: Int32.max - 1, count: 3), 0, "sequences wrap")
  }

  func testBadBatchesAreRefusedWithTheKafkaReason() throws {
    let good = producedBatch(2)
    func refusal(_ bytes: [UInt8], maxBytes: Int = 1 << 20) -> ProducedBatchError? {
      do {
        _ = try ProducedBatch(validating: bytes, maxBytes: maxBytes)
        return nil
      } catch { return error }
    }
    var flipped = good
    flipped[flipped.count - 1] ^= 0xFF
    guard case .corrupt = refusal(flipped) else { return XCTFail("a CRC mismatch is corrupt") }
    var magic1 = good
    magic1[16] = 1
    XCTAssertEqual(refusal(magic1), .unsupportedMagic(1))
    guard case .invalidRecord = refusal(good + good) else {
      return XCTFail("two batches in one partition's data are refused")
    }
    guard case .corrupt = refusal(Array(good.dropLast(3))) else {
      return XCTFail("a truncated batch is corrupt")
    }
    XCTAssertEqual(refusal(good, maxBytes: 50), .tooLarge(size: good.count, limit: 50))
    guard case .corrupt = refusal(Array(good.prefix(20))) else { return XCTFail("short") }
    XCTAssertNil(refusal(good))
  }

  func testAStoredProducerBatchIsServedWholeAndReadAsRecords() async throws {
    let log = try EmbeddedLog(
      directory: directory,
      configuration: LogConfiguration(segmentBytes: 4096, indexIntervalBytes: 512))
    try log.createTopic("k", partitions: 1)
    var sent: [[UInt8]] = []
    for i in 0..<20 {
      let bytes = producedBatch(5, first: i * 5, producer: (7, 0, Int32(i * 5)))
      sent.append(bytes)
      let base = try await log.append(
        ProducedBatch(validating: bytes, maxBytes: 1 << 20), topic: "k", partition: 0)
      XCTAssertEqual(base, Int64(i * 5))
    }
    // Records: the same as any other append's.
    let records = try readAll(log, "k")
    XCTAssertEqual(records.map(\.offset), (0..<100).map { Int64($0) })
    XCTAssertEqual(records[37].key, Array("key-37".utf8))

    // Batches: from the one holding offset 37, whole, byte for byte but the base offset.
    let all = try log.readBatches(topic: "k", partition: 0, from: 37, maxBytes: 1 << 20)
    var expected: [UInt8] = []
    for (i, bytes) in sent.enumerated().dropFirst(7) {
      var stored = bytes
      withUnsafeBytes(of: Int64(i * 5).bigEndian) {
        for (j, b) in $0.enumerated() { stored[j] = b }
      }
      stored.replaceSubrange(12..<16, with: [0, 0, 0, 0])
      expected += stored
    }
    XCTAssertEqual(all, expected)
    // At least one batch however small the limit; no more than the limit otherwise.
    let one = try log.readBatches(topic: "k", partition: 0, from: 37, maxBytes: 1)
    XCTAssertEqual(one.count, sent[7].count)
    let two = try log.readBatches(topic: "k", partition: 0, from: 0, maxBytes: sent[0].count * 2)
    XCTAssertEqual(two.count, sent[0].count * 2)
    XCTAssertEqual(try log.readBatches(topic: "k", partition: 0, from: 100, maxBytes: 1000), [])
    XCTAssertThrowsError(try log.readBatches(topic: "k", partition: 0, from: 101, maxBytes: 1000))
  }

  func testBatchesAreReadWholeAcrossSegmentsAndIndexGapsWithinTheLimit() async throws {
    // Small segments and index entries every few batches: reads start between index entries
    // and run across segment ends. Small batches come several to a read; large ones (over
    // Segment.readAhead) take a read of their own each.
    try await checkBatchReads(recordSize: 100, segmentBytes: 2048, indexIntervalBytes: 256)
    try await checkBatchReads(recordSize: 7000, segmentBytes: 80_000, indexIntervalBytes: 20_000)
  }

  private func checkBatchReads(recordSize: Int, segmentBytes: Int64, indexIntervalBytes: Int)
    async throws
  {
    let topic = "g\(recordSize)"
    let log = try EmbeddedLog(
      directory: directory + "/\(recordSize)",
      configuration: LogConfiguration(
        segmentBytes: segmentBytes, indexIntervalBytes: indexIntervalBytes))
    try log.createTopic(topic, partitions: 1)
    var stored: [(base: Int64, bytes: [UInt8])] = []
    for i in 0..<40 {
      var bytes = producedBatch(
        1 + i % 4, first: i * 4, producer: (-1, -1, -1), recordSize: recordSize)
      let base = try await log.append(
        ProducedBatch(validating: bytes, maxBytes: 1 << 20), topic: topic, partition: 0)
      withUnsafeBytes(of: base.bigEndian) { for (j, b) in $0.enumerated() { bytes[j] = b } }
      bytes.replaceSubrange(12..<16, with: [0, 0, 0, 0])
      stored.append((base, bytes))
    }
    let end = try log.offsets(topic: topic, partition: 0).end
    let size = stored[0].bytes.count
    for from in 0...end {
      for maxBytes in [1, size, size * 3 + 7, size * 15, size * 50, 1 << 20] {
        // Whole batches from the one holding `from`; the first always, the others while the
        // total stays within the limit.
        var expected: [UInt8] = []
        for (i, batch) in stored.enumerated() {
          let next = i + 1 < stored.count ? stored[i + 1].base : end
          if next <= from { continue }
          if !expected.isEmpty && expected.count + batch.bytes.count > maxBytes { break }
          expected += batch.bytes
        }
        let read = try log.readBatches(topic: topic, partition: 0, from: from, maxBytes: maxBytes)
        XCTAssertEqual(read, expected, "from \(from), at most \(maxBytes) bytes")
        // Into a buffer that already holds bytes: appended after them, the count returned.
        var buffer: [UInt8] = [1, 2, 3]
        let count = try log.readBatches(
          topic: topic, partition: 0, from: from, maxBytes: maxBytes, into: &buffer)
        XCTAssertEqual(count, expected.count)
        XCTAssertEqual(buffer, [1, 2, 3] + expected)
      }
    }
  }

  func testTheFirstRecordAtOrAfterATimestampIsFound() async throws {
    let log = try EmbeddedLog(
      directory: directory,
      configuration: LogConfiguration(segmentBytes: 2048, indexIntervalBytes: 256))
    try log.createTopic("ts", partitions: 1)
    // Batch i holds records at 1000·i + 0…3 (record(n) adds n to the timestamp).
    for i in 0..<10 {
      let bytes = producedBatch(4, first: 0, timestamp: Int64(1000 * i))
      _ = try await log.append(
        ProducedBatch(validating: bytes, maxBytes: 1 << 20), topic: "ts", partition: 0)
    }
    XCTAssertGreaterThan(try segmentFiles("ts").count, 2)
    let at = try log.firstRecord(topic: "ts", partition: 0, atOrAfter: 5002)
    XCTAssertEqual(at?.offset, 22)
    XCTAssertEqual(at?.timestamp, 5002)
    XCTAssertEqual(try log.firstRecord(topic: "ts", partition: 0, atOrAfter: 5004)?.offset, 24)
    XCTAssertEqual(try log.firstRecord(topic: "ts", partition: 0, atOrAfter: 0)?.offset, 0)
    XCTAssertNil(try log.firstRecord(topic: "ts", partition: 0, atOrAfter: 9004))
  }

  func testProducerFieldsOfRecentBatchesSurviveARestart() async throws {
    do {
      let log = try EmbeddedLog(directory: directory)
      try log.createTopic("p", partitions: 1)
      _ = try await log.append([record(0)], topic: "p", partition: 0)
      for i in 0..<3 {
        _ = try await log.append(
          ProducedBatch(
            validating: producedBatch(2, producer: (11, 1, Int32(i * 2))), maxBytes: 1 << 20),
          topic: "p", partition: 0)
      }
      // No close: as after kill -9.
    }
    let log = try EmbeddedLog(directory: directory)
    let batches = try log.recentProducerBatches(topic: "p", partition: 0, window: 1 << 20)
    XCTAssertEqual(
      batches.map(\.baseOffset), [1, 3, 5], "the Sluice-written batch has no producer")
    XCTAssertEqual(batches.map(\.producer.baseSequence), [0, 2, 4])
    XCTAssertEqual(batches.last?.lastOffset, 6)
    XCTAssertEqual(batches.last?.producer.producerEpoch, 1)
  }

  func testADeletedTopicIsGoneAndItsNameCanBeUsedAgain() async throws {
    let log = try EmbeddedLog(directory: directory)
    try log.createTopic("gone", partitions: 2)
    _ = try await log.append([record(1)], topic: "gone", partition: 1)
    try log.deleteTopic("gone")
    XCTAssertNil(log.partitionCount(of: "gone"))
    XCTAssertThrowsError(try log.deleteTopic("gone"))
    try log.createTopic("gone", partitions: 1)
    XCTAssertEqual(try log.offsets(topic: "gone", partition: 0), PartitionOffsets(start: 0, end: 0))
    log.close()
    let reopened = try EmbeddedLog(directory: directory)
    XCTAssertEqual(reopened.partitionCount(of: "gone"), 1)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/topics")
    XCTAssertEqual(leftovers, ["gone"])
  }
}
