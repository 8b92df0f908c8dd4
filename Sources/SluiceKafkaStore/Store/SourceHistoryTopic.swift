import SluiceCore

/// A source connector's history on a Kafka cluster: a copy of each record it writes, kept in
/// the store's history topic (`history_topic`, `sluice-history`) in the same transaction as the
/// record, so a restarted task rebuilds its state (webhook idempotency keys, the MQTT
/// redelivery window) by reading one partition instead of every topic of the cluster.
///
/// A copy is the record (key, value, headers, timestamp) plus where the original landed
/// (`sluice.history.topic`, `.partition`, `.offset`) and the connector's name
/// (``SourceHeaders/connector``); all of a connector's copies go to the partition its name
/// hashes to. The topic is `cleanup.policy=delete` with a week's retention: history older than
/// the longest window a connector asks for is never read.
struct SourceHistoryTopic: Sendable {
  static let topicHeader = "sluice.history.topic"
  static let partitionHeader = "sluice.history.partition"
  static let offsetHeader = "sluice.history.offset"
  /// How long the topic keeps copies (`retention.ms`).
  static let retentionMs: Int64 = 7 * 24 * 3_600_000

  let store: KafkaTopicStore
  let connector: String

  /// The partition of the history topic this connector's copies go to.
  func partition() async throws -> TopicPartition {
    let topic = store.configuration.historyTopic
    let count = try await store.partitionCount(of: topic) ?? 1
    return TopicPartition(
      topic, Partitioner.partition(forKey: Array(connector.utf8), partitions: count))
  }

  /// The copy of `record`, written at `offset` of `tp`.
  func copy(of record: KafkaRecord, at tp: TopicPartition, offset: Int64) -> KafkaRecord {
    var copy = record
    if !record.headers.contains(where: { $0.name == SourceHeaders.connector }) {
      copy.headers.append(KafkaHeader(name: SourceHeaders.connector, value: Array(connector.utf8)))
    }
    copy.headers += [
      KafkaHeader(name: Self.topicHeader, value: Array(tp.topic.utf8)),
      KafkaHeader(name: Self.partitionHeader, value: Array(String(tp.partition).utf8)),
      KafkaHeader(name: Self.offsetHeader, value: Array(String(offset).utf8)),
    ]
    return copy
  }

  /// The connector's records from its history partition, oldest first, each with the topic,
  /// partition and offset of the original: those younger than `maxAge` before `nowMs` (read
  /// forward once from the offset ListOffsets gives for that time), at most the newest
  /// `maxCount` (read back from the end until that many are found).
  func recent(maxAge: Duration?, maxCount: Int?, nowMs: Int64) async throws -> WrittenRecords {
    // Record timestamps are milliseconds, so the age is compared in them.
    let maxAgeMs = maxAge?.inMilliseconds
    let tp = try await partition()
    let bounds = try await store.offsets(of: tp)
    var ours: [Record] = []
    var unreadable: [String] = []
    func take(_ records: [Record]) -> [Record] {
      var taken: [Record] = []
      for record in records
      where record.header(SourceHeaders.connector)?.elementsEqual(connector.utf8) ?? false
        && maxAgeMs.map({ nowMs.saturatingMinus(record.timestamp) <= $0 }) ?? true
      {
        if let original = Self.original(of: record) {
          taken.append(original)
        } else {
          unreadable.append("\(tp) offset \(record.offset): a history record without its place")
        }
      }
      return taken
    }
    if let maxAgeMs {
      // A Kafka fetch has no end offset: reading back in chunks would fetch the tail again for
      // each one, so find where the window starts and read forward once.
      let ktp = KafkaTopicPartition(tp)
      let found = try await store.client.listOffsets(
        [ktp], at: .timestamp(nowMs.saturatingMinus(maxAgeMs)))[ktp]
      let start = found.map { $0 < 0 ? bounds.end : max($0, bounds.start) } ?? bounds.start
      ours = take(try await store.records(of: tp, from: start, below: bounds.end))
    } else {
      var end = bounds.end
      var chunks: [[Record]] = []
      var found = 0
      while end > bounds.start {
        let from = max(bounds.start, end - 1000)
        let chunk = take(try await store.records(of: tp, from: from, below: end))
        chunks.append(chunk)
        found += chunk.count
        if let maxCount, found >= maxCount { break }
        end = from
      }
      ours = Array(chunks.reversed().joined())
    }
    return WrittenRecords(
      records: maxCount.map { Array(ours.suffix($0)) } ?? ours, unreadable: unreadable)
  }

  /// The original record a copy stands for: its topic, partition and offset from the copy's
  /// headers, which are dropped.
  static func original(of copy: Record) -> Record? {
    guard let topic = copy.header(topicHeader).map({ String(decoding: $0, as: UTF8.self) }),
      let partition = copy.header(partitionHeader).flatMap({
        Int(String(decoding: $0, as: UTF8.self))
      }),
      let offset = copy.header(offsetHeader).flatMap({
        Int64(String(decoding: $0, as: UTF8.self))
      })
    else { return nil }
    let placement: Set = [topicHeader, partitionHeader, offsetHeader]
    return Record(
      topic: topic, partition: partition, offset: offset, timestamp: copy.timestamp,
      key: copy.key, value: copy.value, headers: copy.headers.filter { !placement.contains($0.name) })
  }
}
