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

  /// The indexes in `records` grouped by partition, in first-seen order. (Indexes, not the
  /// records: a source sends up to a million records a second, each of whose copies would
  /// retain and release its topic, key, value and headers.)
  public func route(_ records: [SourceRecord]) async throws -> [(TopicPartition, [Int])] {
    var partitionCounts: [String: Int] = [:]
    var batchIndexes: [TopicPartition: Int] = [:]
    var batches: [(TopicPartition, [Int])] = []
    // Runs of records for the same topic and partition (a source's usual output) skip the
    // dictionary lookups, which hash the topic name.
    var lastTopic: String?
    var lastCount = 0
    var lastBatch = -1
    for index in records.indices {
      let topic = records[index].topic
      if topic != lastTopic {
        if let known = partitionCounts[topic] {
          lastCount = known
        } else {
          lastCount = try await store.ensureTopic(topic)
          partitionCounts[topic] = lastCount
        }
        lastTopic = topic
        lastBatch = -1
      }
      let count = lastCount
      let partition =
        records[index].partition
        ?? partitioner.partition(forKey: records[index].key, partitions: count)
      guard partition >= 0 && partition < count else {
        throw TopicStoreError.unknownPartition(topic, partition, partitions: count)
      }
      if lastBatch < 0 || batches[lastBatch].0.partition != partition {
        let tp = TopicPartition(topic, partition)
        if let known = batchIndexes[tp] {
          lastBatch = known
        } else {
          lastBatch = batches.count
          batchIndexes[tp] = lastBatch
          batches.append((tp, []))
          if lastBatch == 0 { batches[0].1.reserveCapacity(records.count) }
        }
      }
      batches[lastBatch].1.append(index)
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
              timestamp: records[$0].timestamp, key: records[$0].key, value: records[$0].value,
              headers: records[$0].headers)
          }
        )
      })
    var results = [RecordMetadata?](repeating: nil, count: records.count)
    for ((tp, batch), base) in zip(routed, bases) {
      for (i, index) in batch.enumerated() {
        results[index] = RecordMetadata(
          topic: tp.topic, partition: tp.partition, offset: base + Int64(i))
      }
    }
    return results.map { $0! }
  }
}
