import CoreMetrics
import Metrics
import SluiceCore

/// `sluice_log_appended_records_total{topic}` and `sluice_log_appended_bytes_total{topic}`:
/// what the log's writer threads appended, counted once per batch. Each ``PartitionLog`` holds
/// its topic's pair (the registry hands every partition of a topic the same handles).
struct TopicAppendCounters: Sendable {
  let records: Counter
  let bytes: Counter

  init(topic: String) {
    records = Counter(label: "sluice_log_appended_records_total", dimensions: [("topic", topic)])
    bytes = Counter(label: "sluice_log_appended_bytes_total", dimensions: [("topic", topic)])
  }

  func count(records: Int, bytes: Int) {
    guard records > 0 else { return }
    self.records.increment(by: Int64(records))
    self.bytes.increment(by: Int64(bytes))
  }

  /// A deleted topic's series leave `/metrics`.
  func destroy() {
    records.destroy()
    bytes.destroy()
  }
}

/// `sluice_log_fsync_duration_seconds`: how long each fsync of a segment took, group commits
/// (`fsync: batch`) and the interval policy's timed ones alike.
struct FsyncTimer: Sendable {
  let timer = Metrics.Timer(label: "sluice_log_fsync_duration_seconds")

  func measure<T>(_ body: () throws -> T) rethrows -> T {
    let started = ContinuousClock.now
    defer { timer.record(duration: ContinuousClock.now - started) }
    return try body()
  }
}

/// `sluice_log_segments{topic}` and `sluice_log_size_bytes{topic}`: a topic's segment files and
/// their bytes, summed over its partitions, read from the log before each scrape. A deleted
/// topic's series go at the next scrape.
final class LogFootprintGauges: Sendable {
  private let segments = ScrapedGauges("sluice_log_segments", labels: ["topic"])
  private let bytes = ScrapedGauges("sluice_log_size_bytes", labels: ["topic"])

  func update(from log: EmbeddedLog) {
    var segmentCounts: [[String]: Double] = [:]
    var sizes: [[String]: Double] = [:]
    for (topic, footprint) in log.footprint() {
      segmentCounts[[topic]] = Double(footprint.segments)
      sizes[[topic]] = Double(footprint.bytes)
    }
    segments.update(segmentCounts)
    bytes.update(sizes)
  }

  func removeAll() {
    segments.removeAll()
    bytes.removeAll()
  }
}
