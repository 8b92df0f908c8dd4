import Foundation
import XCTest

@testable import SluiceLog

/// The per-segment time index behind ListOffsets by timestamp: written beside the offset index,
/// reloaded after a clean stop, rebuilt after a crash or for segments written without one, and
/// answering exactly what a scan of every record would, producers' out-of-order timestamps
/// included.
final class TimeIndexTests: LogTestCase {
  private let configuration = LogConfiguration(segmentBytes: 16 << 10, indexIntervalBytes: 1024)

  /// 200 batches of 5 records; timestamps mostly rise but every seventh batch is stamped in the
  /// past, as a producer with its own timestamps may do.
  private func fill(_ log: EmbeddedLog) async throws -> [StoredLogRecord] {
    try log.createTopic("t", partitions: 1)
    for b in 0..<200 {
      let base: Int64 = b % 7 == 3 ? 1_000 + Int64(b) : 10_000 + Int64(b) * 100
      _ = try await log.append(
        (0..<5).map { record(b * 5 + $0, timestamp: base - Int64(b * 5)) }, topic: "t",
        partition: 0)
    }
    return try readAll(log, "t")
  }

  /// What ListOffsets by timestamp must answer, found by looking at every record.
  private func expected(_ records: [StoredLogRecord], _ timestamp: Int64) -> Int64? {
    records.first { $0.timestamp >= timestamp }?.offset
  }

  private func assertAnswersMatchAScan(
    _ log: EmbeddedLog, _ records: [StoredLogRecord], file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let stamps: [Int64] = Set(records.map(\.timestamp)).flatMap { [$0 - 1, $0, $0 + 1] }
    for t in (stamps + [0, 99_999]).sorted() {
      XCTAssertEqual(
        try log.firstRecord(topic: "t", partition: 0, atOrAfter: t)?.offset, expected(records, t),
        "timestamp \(t)", file: file, line: line)
    }
  }

  private func timeIndexFiles() throws -> [String] {
    let dir = "\(directory!)/topics/t/0"
    return try FileManager.default.contentsOfDirectory(atPath: dir)
      .filter { $0.hasSuffix(".timeindex") }.sorted().map { "\(dir)/\($0)" }
  }

  func testEverySegmentHasATimeIndexWhoseEntriesRiseAndBoundTheRecordsBeforeThem() async throws {
    let log = try EmbeddedLog(directory: directory, configuration: configuration)
    let records = try await fill(log)
    XCTAssertEqual(records.count, 1000)
    let partition = try log.partition("t", 0)
    XCTAssertGreaterThan(partition.segments.count, 3)
    XCTAssertEqual(try timeIndexFiles().count, partition.segments.count)
    for segment in partition.segments {
      let entries = segment.timeIndex.entries
      XCTAssertFalse(entries.isEmpty, "a segment of several index intervals has time entries")
      for (earlier, later) in zip(entries, entries.dropFirst()) {
        XCTAssertLessThan(earlier.timestamp, later.timestamp)
        XCTAssertLessThan(earlier.relativeOffset, later.relativeOffset)
      }
      for entry in entries {
        let below = records.filter {
          $0.offset >= segment.baseOffset
            && $0.offset < segment.baseOffset + Int64(entry.relativeOffset)
        }
        XCTAssertEqual(below.map(\.timestamp).max(), entry.timestamp)
        // Each entry's offset starts a batch the offset index can place exactly.
        XCTAssertTrue(segment.index.entries.contains { $0.relativeOffset == entry.relativeOffset })
      }
    }
    try assertAnswersMatchAScan(log, records)
    log.close()
  }

  func testALateTimestampIsLookedUpFromTheIndexedBatchNotTheSegmentStart() async throws {
    let log = try EmbeddedLog(directory: directory, configuration: configuration)
    let records = try await fill(log)
    let partition = try log.partition("t", 0)
    let segment = partition.segments[1]
    let newest = records.filter { $0.offset < partition.segments[2].baseOffset }.map(\.timestamp)
      .max()!
    XCTAssertGreaterThan(segment.timeIndex.offsetBefore(newest), 0)
    // The first segment is skipped by its largest timestamp alone, without reading it.
    XCTAssertLessThan(partition.segments[0].maxTimestamp!, newest)
    XCTAssertEqual(
      try log.firstRecord(topic: "t", partition: 0, atOrAfter: newest)?.offset,
      expected(records, newest))
    log.close()
  }

  func testACleanRestartReloadsTheIndexAndAnswersTheSame() async throws {
    var log = try EmbeddedLog(directory: directory, configuration: configuration)
    let records = try await fill(log)
    let before = try log.partition("t", 0).segments.map { ($0.timeIndex.entries, $0.maxTimestamp) }
    log.close()
    log = try EmbeddedLog(directory: directory, configuration: configuration)
    let after = try log.partition("t", 0).segments.map { ($0.timeIndex.entries, $0.maxTimestamp) }
    XCTAssertEqual(before.map(\.0), after.map(\.0))
    XCTAssertEqual(before.map(\.1), after.map(\.1), "each segment's largest timestamp survives")
    try assertAnswersMatchAScan(log, records)
    log.close()
  }

  func testACrashRebuildsTheActiveSegmentsIndexWithATornTail() async throws {
    var log = try EmbeddedLog(directory: directory, configuration: configuration)
    let records = try await fill(log)
    let active = try log.partition("t", 0).segments.last!
    let entries = active.timeIndex.entries
    log.close()
    try FileManager.default.removeItem(atPath: directory + "/.clean-shutdown")
    // The crash left garbage after the last entry of the active segment's time index.
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: active.timeIndex.path))
    handle.seekToEndOfFile()
    handle.write(Data([0xff, 0xff, 0x00, 0x01, 0x02]))
    try handle.close()
    log = try EmbeddedLog(directory: directory, configuration: configuration)
    XCTAssertEqual(try log.partition("t", 0).segments.last!.timeIndex.entries, entries)
    try assertAnswersMatchAScan(log, records)
    log.close()
  }

  func testSegmentsWrittenWithoutATimeIndexGetOneWhenOpened() async throws {
    var log = try EmbeddedLog(directory: directory, configuration: configuration)
    let records = try await fill(log)
    let before = try log.partition("t", 0).segments.map(\.timeIndex.entries)
    log.close()
    for file in try timeIndexFiles() { try FileManager.default.removeItem(atPath: file) }
    log = try EmbeddedLog(directory: directory, configuration: configuration)
    XCTAssertEqual(try log.partition("t", 0).segments.map(\.timeIndex.entries), before)
    XCTAssertEqual(try timeIndexFiles().count, before.count)
    try assertAnswersMatchAScan(log, records)
    log.close()
  }

  func testRetentionRemovesTheTimeIndexWithItsSegment() async throws {
    let log = try EmbeddedLog(
      directory: directory,
      configuration: LogConfiguration(
        segmentBytes: 16 << 10, retentionBytes: 20 << 10, indexIntervalBytes: 1024))
    _ = try await fill(log)
    let segments = try log.partition("t", 0).segments.count
    XCTAssertGreaterThan(try log.enforceRetention(nowMs: 0), 0)
    let kept = try log.partition("t", 0).segments.count
    XCTAssertLessThan(kept, segments)
    XCTAssertEqual(try timeIndexFiles().count, kept)
    log.close()
  }
}
