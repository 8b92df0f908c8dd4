/// What a source connector wrote and the store still keeps, read back for the state a source
/// rebuilds after a restart: the position of its last durable record in a partition (replays
/// are compared with it), and its recent records (webhook idempotency keys, the MQTT
/// redelivery window). The one place that scans topics for a connector's own records, found by
/// their `sluice.source` header (``SourceHeaders``); connectors are handed records, never the
/// store.
///
/// ``lastPosition(in:)`` reads the one partition a send goes to, on any store. ``recent(maxAge:maxCount:nowMs:)``
/// reads the tails of every partition: the embedded log's ``DurableAppendSession`` uses it; a
/// Kafka cluster's session, which cannot afford to read every topic of the cluster, keeps the
/// connector's records in a history topic of its own instead.
struct SourceHistory: Sendable {
  let store: any TopicStore
  let connector: String

  /// The position in the last record of this connector in `tp` that carries one, found by
  /// walking the partition backwards 1,000 offsets at a time.
  func lastPosition(in tp: TopicPartition) async throws -> SourcePosition? {
    let bounds = try await store.offsets(of: tp)
    var end = bounds.end
    while end > bounds.start {
      let from = max(bounds.start, end - 1000)
      var found: SourcePosition?
      for record in try await store.records(of: tp, from: from, below: end) where isOurs(record) {
        if let position = record.header(SourceHeaders.position) {
          found = SourcePosition(String(decoding: position, as: UTF8.self))
        }
      }
      if let found { return found }
      end = from
    }
    return nil
  }

  /// This connector's records at the tails of every partition: each partition is read back
  /// until its records are older than `maxAge` before `nowMs` (a record timestamp), or over its
  /// last `maxCount` offsets; of those, the newest `maxCount`, oldest first.
  func recent(maxAge: Duration?, maxCount: Int?, nowMs: Int64) async throws -> WrittenRecords {
    // Record timestamps are milliseconds, so the age is compared in them.
    let maxAgeMs = maxAge?.inMilliseconds
    var found: [Record] = []
    var unreadable: [String] = []
    for topic in try await store.describeTopics() {
      for (partition, bounds) in topic.partitions.enumerated() {
        let tp = TopicPartition(topic.name, partition)
        do {
          found += try await recent(
            tp, bounds: bounds, maxAgeMs: maxAgeMs, maxCount: maxCount, nowMs: nowMs)
        } catch {
          unreadable.append("\(tp): \(error)")
        }
      }
    }
    // Stable: records of one partition keep their order when timestamps tie.
    let sorted = found.enumerated().sorted {
      ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset)
    }
    .map(\.element)
    let kept = maxCount.map { Array(sorted.suffix($0)) } ?? sorted
    return WrittenRecords(records: kept, unreadable: unreadable)
  }

  private func recent(
    _ tp: TopicPartition, bounds: PartitionOffsets, maxAgeMs: Int64?, maxCount: Int?, nowMs: Int64
  ) async throws -> [Record] {
    let floor = maxCount.map { max(bounds.start, bounds.end - Int64($0)) } ?? bounds.start
    var end = bounds.end
    var chunks: [[Record]] = []
    while end > floor {
      let from = max(floor, end - 1000)
      let records = try await store.records(of: tp, from: from, below: end)
      let oldest = records.map(\.timestamp).min() ?? .max
      chunks.append(
        records.filter { record in
          isOurs(record) && maxAgeMs.map { nowMs.saturatingMinus(record.timestamp) <= $0 } ?? true
        })
      if let maxAgeMs, nowMs.saturatingMinus(oldest) > maxAgeMs { break }
      end = from
    }
    return chunks.reversed().flatMap { $0 }
  }

  private func isOurs(_ record: Record) -> Bool {
    record.header(SourceHeaders.connector)?.elementsEqual(connector.utf8) ?? false
  }
}

/// A source connector's own records, as ``SourceTaskContext/recentlyWritten(maxAge:maxCount:)``
/// gives them back: oldest first, and the partitions that could not be read (damaged data in
/// someone else's topic must not stop the source), each with the reason.
public struct WrittenRecords: Sendable {
  public var records: [Record]
  public var unreadable: [String]

  public init(records: [Record], unreadable: [String]) {
    self.records = records
    self.unreadable = unreadable
  }
}
