/// Writes records to topics the way a Kafka producer would: creates missing topics with the
/// store's default partition count, picks partitions with ``Partitioner``, and appends each
/// partition's records as one batch, all partitions at once.
public struct Producer: Sendable {
  public let store: any TopicStore
  private let partitioner: Partitioner

  public init(store: any TopicStore, partitioner: Partitioner = Partitioner()) {
    self.store = store
    self.partitioner = partitioner
  }

  /// Records grouped by partition, in first-seen order, each with its index in `records`.
  public func route(_ records: [SourceRecord]) async throws -> [(
    TopicPartition, [(index: Int, record: SourceRecord)]
  )] {
    var partitionCounts: [String: Int] = [:]
    var batchIndexes: [TopicPartition: Int] = [:]
    var batches: [(TopicPartition, [(index: Int, record: SourceRecord)])] = []
    // Runs of records for the same topic and partition (a source's usual output) skip the
    // dictionary lookups, which hash the topic name.
    var lastTopic: String?
    var lastCount = 0
    var lastBatch = -1
    for (index, record) in records.enumerated() {
      if record.topic != lastTopic {
        if let known = partitionCounts[record.topic] {
          lastCount = known
        } else {
          lastCount = try await store.ensureTopic(record.topic)
          partitionCounts[record.topic] = lastCount
        }
        lastTopic = record.topic
        lastBatch = -1
      }
      let count = lastCount
      let partition =
        record.partition ?? partitioner.partition(forKey: record.key, partitions: count)
      guard partition >= 0 && partition < count else {
        throw TopicStoreError.unknownPartition(record.topic, partition, partitions: count)
      }
      if lastBatch < 0 || batches[lastBatch].0.partition != partition {
        let tp = TopicPartition(record.topic, partition)
        if let known = batchIndexes[tp] {
          lastBatch = known
        } else {
          lastBatch = batches.count
          batchIndexes[tp] = lastBatch
          batches.append((tp, []))
          if lastBatch == 0 { batches[0].1.reserveCapacity(records.count) }
        }
      }
      batches[lastBatch].1.append((index, record))
    }
    return batches
  }

  /// Appends the records and returns where each landed, in the order given. Returns when all
  /// are durable; if one partition fails, others may have been written (as with Kafka).
  public func send(_ records: [SourceRecord]) async throws -> [RecordMetadata] {
    let routed = try await route(records)
    let bases = try await store.append(
      routed.map { tp, batch in
        (
          tp,
          batch.map {
            OutgoingRecord(
              timestamp: $0.record.timestamp, key: $0.record.key, value: $0.record.value,
              headers: $0.record.headers)
          }
        )
      })
    var results = [RecordMetadata?](repeating: nil, count: records.count)
    for ((tp, batch), base) in zip(routed, bases) {
      for (i, entry) in batch.enumerated() {
        results[entry.index] = RecordMetadata(
          topic: tp.topic, partition: tp.partition, offset: base + Int64(i))
      }
    }
    return results.map { $0! }
  }
}
