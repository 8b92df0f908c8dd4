import SluiceCore

/// The batch-level operations a Kafka broker needs, beside the record-level ``TopicStore``:
/// same errors, and an append wakes the store's caught-up readers as any other does.
extension EmbeddedTopicStore {
  /// Appends a validated producer batch as it came; returns its base offset once durable.
  public func append(_ batch: ProducedBatch, to partition: TopicPartition) async throws -> Int64 {
    let base = try await translatingLogErrors {
      try await log.append(batch, topic: partition.topic, partition: partition.partition)
    }
    wakeReaders()
    return base
  }

  /// Whole stored batches from the one holding `offset`, up to about `maxBytes`.
  public func readBatches(from partition: TopicPartition, offset: Int64, maxBytes: Int) throws
    -> [UInt8]
  {
    try translatingLogErrors {
      try log.readBatches(
        topic: partition.topic, partition: partition.partition, from: offset, maxBytes: maxBytes)
    }
  }

  /// Whole stored batches from the one holding `offset`, up to about `maxBytes`, read straight
  /// into `out`; returns how many bytes were appended.
  public func readBatches<Buffer: BatchReadBuffer>(
    from partition: TopicPartition, offset: Int64, below limit: Int64 = .max, maxBytes: Int,
    into out: inout Buffer
  ) throws -> Int {
    try translatingLogErrors {
      try log.readBatches(
        topic: partition.topic, partition: partition.partition, from: offset, below: limit,
        maxBytes: maxBytes, into: &out)
    }
  }

  /// The offset and timestamp of the first record at or after `timestamp`, or nil.
  public func firstRecord(in partition: TopicPartition, atOrAfter timestamp: Int64) throws
    -> (offset: Int64, timestamp: Int64)?
  {
    try translatingLogErrors {
      try log.firstRecord(
        topic: partition.topic, partition: partition.partition, atOrAfter: timestamp)
    }
  }

  /// The idempotent producers' batches in the last `window` bytes of a partition.
  public func recentProducerBatches(in partition: TopicPartition, window: Int64) throws
    -> [StoredBatchInfo]
  {
    try translatingLogErrors {
      try log.recentProducerBatches(
        topic: partition.topic, partition: partition.partition, window: window)
    }
  }

  /// The transactional batches and markers of a partition from `offset` on, and the end they
  /// were read up to (a broker's last stable offset and aborted transactions come from them).
  public func transactionBatches(in partition: TopicPartition, from offset: Int64) throws
    -> (batches: [StoredBatchInfo], end: Int64)
  {
    try translatingLogErrors {
      try log.transactionBatches(
        topic: partition.topic, partition: partition.partition, from: offset)
    }
  }

  /// A partition's open and aborted transactions, up to its durable end (blocking: reads the
  /// headers of batches not read before).
  public func transactions(of partition: TopicPartition) throws -> PartitionTransactions {
    try translatingLogErrors {
      try log.transactions(topic: partition.topic, partition: partition.partition)
    }
  }

  /// Deletes a topic and its records.
  public func deleteTopic(_ name: String) async throws {
    let log = self.log
    try await translatingLogErrors { try await creation.run { try log.deleteTopic(name) } }
  }
}
