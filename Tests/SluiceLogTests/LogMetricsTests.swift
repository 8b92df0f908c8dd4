import Foundation
import SluiceCore
import XCTest

@testable import SluiceLog

/// The log's metrics in the process's registry (bootstrapped as `sluice run` does): appends
/// counted per topic, fsyncs timed, segments and bytes read at scrape, and a deleted topic's
/// series gone.
final class LogMetricsTests: LogTestCase {
  func testAppendsFsyncsAndSegmentsShowPerTopicUntilTheTopicIsDeleted() async throws {
    WorkerMetrics.shared.bootstrap()
    let log = try EmbeddedLog(
      directory: directory + "/log", configuration: LogConfiguration(fsync: .batch))
    defer { log.close() }
    let store = EmbeddedTopicStore(
      log: log, defaultPartitions: 1,
      groupOffsets: try FileOffsetStore(directory: directory + "/offsets"))
    let topic = "metered-\(UUID().uuidString.prefix(8))"
    let fsyncsBefore = Self.value(Self.scrape(), "sluice_log_fsync_duration_seconds_count") ?? 0
    try await store.createTopic(topic, partitions: 2)
    for (partition, count) in [(0, 3), (1, 2)] {
      _ = try await store.append(
        (0..<count).map { OutgoingRecord(key: nil, value: Array("value \($0)".utf8)) },
        to: TopicPartition(topic, partition))
    }

    let text = Self.scrape()
    XCTAssertEqual(Self.value(text, "sluice_log_appended_records_total{topic=\"\(topic)\"}"), 5)
    let bytes = Self.value(text, "sluice_log_appended_bytes_total{topic=\"\(topic)\"}") ?? 0
    XCTAssertGreaterThan(bytes, 5 * 7, "the encoded batches, headers included")
    XCTAssertEqual(
      Self.value(text, "sluice_log_segments{topic=\"\(topic)\"}"), 2, "one per partition")
    XCTAssertEqual(Self.value(text, "sluice_log_size_bytes{topic=\"\(topic)\"}"), bytes)
    XCTAssertGreaterThanOrEqual(
      (Self.value(text, "sluice_log_fsync_duration_seconds_count") ?? 0) - fsyncsBefore, 2)

    try await store.deleteTopic(topic)
    XCTAssertFalse(Self.scrape().contains("\"\(topic)\""), "a deleted topic's series go")
    withExtendedLifetime(store) {}
  }

  private static func scrape() -> String {
    String(decoding: WorkerMetrics.shared.exposition(), as: UTF8.self)
  }

  /// The value of the line for `series` (name and labels as emitted).
  private static func value(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
      return Double(line.dropFirst(series.count + 1))
    }
    return nil
  }
}
