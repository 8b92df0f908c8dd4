import SluiceCore

extension EmbeddedTopicStore {
  /// The log's own lookup (``PartitionLog`` skips segments whose newest record is older and
  /// binary-searches the time index of the one that may hold it).
  public func firstOffset(in partition: TopicPartition, atOrAfter timestamp: Int64) async throws
    -> Int64?
  {
    try firstRecord(in: partition, atOrAfter: timestamp)?.offset
  }
}
