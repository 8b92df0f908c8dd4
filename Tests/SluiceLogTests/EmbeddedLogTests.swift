import Foundation
import SluiceCore
import SluiceLog
import XCTest

final class EmbeddedLogTests: LogTestCase {
  func testAppendReadRoundTripAcrossSegmentRolls() async throws {
    let log = try EmbeddedLog(
      directory: directory,
      configuration: LogConfiguration(segmentBytes: 4096, indexIntervalBytes: 512))
    try log.createTopic("t", partitions: 2)
    var expected: [LogRecord] = []
    for batch in 0..<40 {
      let records =
        (0..<5).map { record(batch * 5 + $0) } + [
          LogRecord(
            timestamp: 1, key: nil, value: nil, headers: [LogHeader(name: "null", value: nil)])
        ]
      let base = try await log.append(records, topic: "t", partition: 1)
      XCTAssertEqual(base, Int64(batch * 6))
      expected += records
    }
    XCTAssertGreaterThan(try segmentFiles("t", 1).count, 5, "small segments must roll")
    let all = try readAll(log, "t", 1)
    XCTAssertEqual(all.map(\.offset), (0..<Int64(240)).map { $0 })
    XCTAssertEqual(
      all.map {
        LogRecord(timestamp: $0.timestamp, key: $0.key, value: $0.value, headers: $0.headers)
      }, expected)
    XCTAssertEqual(try log.offsets(topic: "t", partition: 1), PartitionOffsets(start: 0, end: 240))
    XCTAssertEqual(try log.offsets(topic: "t", partition: 0), PartitionOffsets(start: 0, end: 0))

    // From the middle of a batch, in a middle segment.
    let middle = try log.read(topic: "t", partition: 1, from: 133, maxRecords: 4)
    XCTAssertEqual(middle.map(\.offset), [133, 134, 135, 136])
    XCTAssertEqual(middle.first?.value, expected[133].value)
    log.close()

    let reopened = try EmbeddedLog(
      directory: directory,
      configuration: LogConfiguration(segmentBytes: 4096, indexIntervalBytes: 512))
    XCTAssertEqual(try readAll(reopened, "t", 1).count, 240)
    let next = try await reopened.append([record(999)], topic: "t", partition: 1)
    XCTAssertEqual(next, 240)
    reopened.close()
  }

  func testSegmentFilesAreKafkaRecordBatchV2WithValidCRC32C() async throws {
    let log = try EmbeddedLog(directory: directory)
    try log.createTopic("t", partitions: 1)
    _ = try await log.append(
      [LogRecord(timestamp: 1000, key: Array("k".utf8), value: Array("v".utf8))], topic: "t",
      partition: 0)
    log.close()
    let file = try segmentFiles("t")[0]
    XCTAssertTrue(file.hasSuffix("/00000000000000000000.log"))
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    XCTAssertEqual(bytes[16], 2, "magic")
    let length = Int(
      UInt32(bytes[8]) << 24 | UInt32(bytes[9]) << 16 | UInt32(bytes[10]) << 8 | UInt32(bytes[11]))
    XCTAssertEqual(length + 12, bytes.count)
    let stored =
      UInt32(bytes[17]) << 24 | UInt32(bytes[18]) << 16 | UInt32(bytes[19]) << 8 | UInt32(bytes[20])
    XCTAssertEqual(stored, crc32c(Array(bytes[21...])))
    XCTAssertEqual(crc32c(Array("123456789".utf8)), 0xE306_9283, "the standard CRC-32C check value")
  }

  func testCorruptedRecordIsDetectedOnRead() async throws {
    var log = try EmbeddedLog(directory: directory)
    try log.createTopic("t", partitions: 1)
    _ = try await log.append((0..<10).map { record($0) }, topic: "t", partition: 0)
    log.close()
    let file = try segmentFiles("t")[0]
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    bytes[200] ^= 0xff
    try Data(bytes).write(to: URL(fileURLWithPath: file))

    log = try EmbeddedLog(directory: directory)
    XCTAssertThrowsError(try log.read(topic: "t", partition: 0, from: 0, maxRecords: 10)) { error in
      XCTAssertTrue(
        "\(error)".contains("CRC-32C mismatch") && "\(error)".contains(file), "\(error)")
    }
    log.close()
  }

  func testRecordLargerThanTheLimitIsRefusedAndNothingIsWritten() async throws {
    let log = try EmbeddedLog(
      directory: directory, configuration: LogConfiguration(maxRecordBytes: 1000))
    try log.createTopic("t", partitions: 1)
    do {
      _ = try await log.append([record(1), record(2, size: 5000)], topic: "t", partition: 0)
      XCTFail("expected recordTooLarge")
    } catch LogError.recordTooLarge(let size, let limit) {
      XCTAssertGreaterThan(size, 5000)
      XCTAssertEqual(limit, 1000)
    }
    XCTAssertEqual(try log.offsets(topic: "t", partition: 0).end, 0)
    log.close()
  }

  func testConcurrentAppendsShareFsyncsAndGetContiguousOffsets() async throws {
    let log = try EmbeddedLog(directory: directory)
    try log.createTopic("t", partitions: 1)
    let batches = (0..<64).map { [record($0 * 2), record($0 * 2 + 1)] }
    let bases = try await withThrowingTaskGroup(of: Int64.self) { group in
      for batch in batches {
        group.addTask { try await log.append(batch, topic: "t", partition: 0) }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    XCTAssertEqual(bases.sorted(), (0..<64).map { Int64($0 * 2) })
    XCTAssertEqual(try log.offsets(topic: "t", partition: 0).end, 128)
    XCTAssertLessThan(log.fsyncCount, 64, "group commit shares fsyncs")
    XCTAssertGreaterThan(log.fsyncCount, 0)
    XCTAssertEqual(try readAll(log, "t").count, 128)
    log.close()
  }

  func testPartitionsCommitSideBySideWithMorePartitionsThanWriterThreads() async throws {
    // 6 partitions, 2 writer threads, 3 producers per partition, each waiting for its append
    // before the next (as a source task does): every append durable, offsets contiguous per
    // partition, each producer's batches in its own order, and all of it there after a crash.
    let config = LogConfiguration(segmentBytes: 16 << 10, writerThreads: 2)
    let log = try EmbeddedLog(directory: directory, configuration: config)
    try log.createTopic("t", partitions: 6)
    let placed = try await withThrowingTaskGroup(of: [(Int, Int, Int64)].self) { group in
      for partition in 0..<6 {
        for producer in 0..<3 {
          let batches = (0..<15).map { b in
            (0..<4).map { record(producer * 1000 + b * 4 + $0, size: 300) }
          }
          group.addTask {
            var bases: [(Int, Int, Int64)] = []
            for records in batches {
              bases.append(
                (
                  partition, producer,
                  try await log.append(records, topic: "t", partition: partition)
                )
              )
            }
            return bases
          }
        }
      }
      return try await group.reduce(into: []) { $0 += $1 }
    }
    for partition in 0..<6 {
      let mine = placed.filter { $0.0 == partition }
      XCTAssertEqual(mine.map(\.2).sorted(), (0..<45).map { Int64($0 * 4) })
      for producer in 0..<3 {
        let bases = mine.filter { $0.1 == producer }.map(\.2)
        XCTAssertEqual(bases, bases.sorted(), "a producer's appends land in the order it made them")
      }
      XCTAssertEqual(try log.offsets(topic: "t", partition: partition).end, 180)
    }
    XCTAssertLessThanOrEqual(log.fsyncCount, 6 * 45)
    log.close()
    try FileManager.default.removeItem(atPath: directory + "/.clean-shutdown")  // as after kill -9

    let reopened = try EmbeddedLog(directory: directory, configuration: config)
    for partition in 0..<6 {
      let records = try readAll(reopened, "t", partition)
      XCTAssertEqual(records.map(\.offset), (0..<Int64(180)).map { $0 })
      for producer in 0..<3 {
        let values = records.compactMap(\.key).map { String(decoding: $0, as: UTF8.self) }
          .compactMap { Int($0.dropFirst(4)) }.filter { $0 / 1000 == producer }
        XCTAssertEqual(values, (0..<60).map { producer * 1000 + $0 })
      }
    }
    reopened.close()
  }

  func testIntervalPolicyAcknowledgesBeforeTheSyncAndSyncsOnItsTimer() async throws {
    let log = try EmbeddedLog(
      directory: directory,
      configuration: LogConfiguration(fsync: .interval(every: .milliseconds(20))))
    try log.createTopic("t", partitions: 2)
    _ = try await log.append([record(0)], topic: "t", partition: 0)
    _ = try await log.append([record(1)], topic: "t", partition: 1)
    XCTAssertEqual(try readAll(log, "t", 0).count, 1, "readable once written")
    let deadline = ContinuousClock.now + .seconds(10)
    while log.fsyncCount < 2 && ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(10))
    }
    XCTAssertGreaterThanOrEqual(log.fsyncCount, 2, "the timer syncs both partitions")
    log.close()
  }

  func testAppendAfterCloseFailsAsClosed() async throws {
    let log = try EmbeddedLog(directory: directory)
    try log.createTopic("t", partitions: 1)
    _ = try await log.append([record(0)], topic: "t", partition: 0)
    log.close()
    do {
      _ = try await log.append([record(1)], topic: "t", partition: 0)
      XCTFail("append after close succeeded")
    } catch LogError.closed {
    }
  }

  func testRetentionDeletesWholeOldSegmentsOnly() async throws {
    let config = LogConfiguration(
      segmentBytes: 2048, retention: .seconds(60), retentionCheckInterval: .seconds(3_600))
    let log = try EmbeddedLog(directory: directory, configuration: config)
    try log.createTopic("t", partitions: 1)
    let now: Int64 = 1_800_000_000_000
    for i in 0..<30 {
      _ = try await log.append([record(i, timestamp: now - 3_600_000)], topic: "t", partition: 0)
    }
    for i in 30..<40 {
      _ = try await log.append([record(i, timestamp: now)], topic: "t", partition: 0)
    }
    let before = try segmentFiles("t")
    XCTAssertGreaterThan(before.count, 3)
    let removed = try log.enforceRetention(nowMs: now)
    XCTAssertGreaterThan(removed, 0)
    let after = try segmentFiles("t")
    XCTAssertEqual(after, Array(before.suffix(after.count)), "only the oldest whole segments go")
    let start = try log.offsets(topic: "t", partition: 0).start
    XCTAssertEqual(
      start, Int64(URL(fileURLWithPath: after[0]).deletingPathExtension().lastPathComponent))
    XCTAssertLessThanOrEqual(start, 30, "no segment holding a recent record was deleted")
    XCTAssertEqual(try readAll(log, "t").map(\.offset), (start..<40).map { $0 })
    XCTAssertThrowsError(try log.read(topic: "t", partition: 0, from: 0, maxRecords: 1)) { error in
      guard case LogError.offsetOutOfRange = error else { return XCTFail("\(error)") }
    }
    log.close()
  }

  func testRetentionBySizeNeverDeletesTheActiveSegment() async throws {
    let log = try EmbeddedLog(
      directory: directory,
      configuration: LogConfiguration(segmentBytes: 2048, retention: nil, retentionBytes: 1))
    try log.createTopic("t", partitions: 1)
    for i in 0..<30 { _ = try await log.append([record(i)], topic: "t", partition: 0) }
    try log.enforceRetention(nowMs: 0)
    XCTAssertEqual(try segmentFiles("t").count, 1)
    let offsets = try log.offsets(topic: "t", partition: 0)
    XCTAssertEqual(offsets.end, 30)
    XCTAssertEqual(try readAll(log, "t").count, Int(offsets.end - offsets.start))
    log.close()
  }

  func testSecondOpenOfTheSameDataDirFailsWithAClearMessage() throws {
    let first = try EmbeddedLog(directory: directory)
    XCTAssertThrowsError(try EmbeddedLog(directory: directory)) { error in
      XCTAssertTrue(
        "\(error)".contains("is in use by another Sluice worker (pid \(getpid()))"), "\(error)")
    }
    first.close()
    let again = try EmbeddedLog(directory: directory)
    again.close()
  }

  func testUnwritableDataDirIsAClearError() throws {
    let file = directory + "-file"
    FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
    defer { try? FileManager.default.removeItem(atPath: file) }
    XCTAssertThrowsError(try EmbeddedLog(directory: file + "/data")) { error in
      XCTAssertTrue("\(error)".contains("cannot write to \(file)/data"), "\(error)")
    }
  }

  func testInvalidTopicNamesAreRefused() throws {
    let log = try EmbeddedLog(directory: directory)
    for bad in ["", ".", "..", "a/b", "a b", String(repeating: "x", count: 250)] {
      XCTAssertThrowsError(try log.createTopic(bad, partitions: 1), bad)
    }
    XCTAssertEqual(log.topicNames(), [])
    log.close()
  }
}

/// An independent bit-by-bit CRC-32C to check the log's table-driven one.
func crc32c(_ bytes: [UInt8]) -> UInt32 {
  var crc: UInt32 = 0xFFFF_FFFF
  for byte in bytes {
    crc ^= UInt32(byte)
    for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
  }
  return crc ^ 0xFFFF_FFFF
}

/// Record timestamps a batch cannot hold, and damaged counts in stored batches (issue 19, 1).
final class OutOfRangeInputTests: LogTestCase {
  func testTimestampsOutsideTheValidRangeAreRefusedAndNothingIsWritten() async throws {
    let log = try EmbeddedLog(directory: directory)
    defer { log.close() }
    try log.createTopic("t", partitions: 1)
    for timestamps: [Int64] in [[0, .max], [.min], [-1], [1, 253_402_300_800_000]] {
      let records = timestamps.map { LogRecord(timestamp: $0, key: nil, value: [1], headers: []) }
      do {
        _ = try await log.append(records, topic: "t", partition: 0)
        XCTFail("\(timestamps) was accepted")
      } catch let error as LogError {
        XCTAssertTrue(error.description.contains("outside 0..."), error.description)
      }
    }
    XCTAssertEqual(try log.offsets(topic: "t", partition: 0).end, 0)
    let far = [Int64(0), 253_402_300_799_999].map {
      LogRecord(timestamp: $0, key: nil, value: [1], headers: [])
    }
    _ = try await log.append(far, topic: "t", partition: 0)
    XCTAssertEqual(try readAll(log, "t", 0).map(\.timestamp), [0, 253_402_300_799_999])
  }

  func testTopicLimitRefusesTheNextTopicOnly() throws {
    let log = try EmbeddedLog(directory: directory, configuration: LogConfiguration(maxTopics: 2))
    defer { log.close() }
    try log.createTopic("a", partitions: 1)
    try log.createTopic("b", partitions: 1)
    try log.createTopic("a", partitions: 1)
    XCTAssertThrowsError(try log.createTopic("c", partitions: 1)) { error in
      XCTAssertTrue("\(error)".contains("max_topics"), "\(error)")
    }
    XCTAssertEqual(log.topicNames(), ["a", "b"])
  }
}

/// Point 9 of issue 19: partitions do not hold their descriptors forever.
final class DescriptorPoolTests: LogTestCase {
  func testManyPartitionsWorkWithFewOpenFiles() async throws {
    let configuration = LogConfiguration(segmentBytes: 2048, maxOpenFiles: 12)
    var log: EmbeddedLog? = try EmbeddedLog(directory: directory, configuration: configuration)
    for t in 0..<40 {
      try log!.createTopic("t\(t)", partitions: 2)
      for p in 0..<2 {
        // Several segments each (2 KiB segments), so sealed and active files both count.
        for batch in 0..<6 {
          _ = try await log!.append(
            (0..<4).map { record(batch * 4 + $0) }, topic: "t\(t)", partition: p)
        }
      }
      XCTAssertLessThanOrEqual(log!.openFileCount, 12 + 2, "after topic \(t)")
    }
    for t in 0..<40 {
      for p in 0..<2 {
        XCTAssertEqual(try readAll(log!, "t\(t)", p).map(\.offset), (0..<24).map(Int64.init))
      }
    }
    XCTAssertLessThanOrEqual(log!.openFileCount, 14)
    log!.close()
    log = nil
    // Reopened, as after a crash (every active segment is recovered), within the same bound.
    try? FileManager.default.removeItem(atPath: directory + "/.clean-shutdown")
    let reopened = try EmbeddedLog(directory: directory, configuration: configuration)
    defer { reopened.close() }
    XCTAssertLessThanOrEqual(reopened.openFileCount, 14)
    XCTAssertEqual(try readAll(reopened, "t39", 1).count, 24)
    _ = try await reopened.append([record(99)], topic: "t0", partition: 0)
    XCTAssertEqual(try reopened.offsets(topic: "t0", partition: 0).end, 25)
  }
}
