import SluiceCore

extension KafkaTopicStore {
  /// ListOffsets with the timestamp: the broker answers from its time index, and with offset
  /// -1 when every record is older.
  public func firstOffset(in partition: TopicPartition, atOrAfter timestamp: Int64) async throws
    -> Int64?
  {
    // Throws unknown topic or partition at once, rather than a ListOffsets that retries.
    _ = try await offsets(of: partition)
    let tp = KafkaTopicPartition(partition)
    let found: Int64?
    do {
      found = try await client.listOffsets([tp], at: .timestamp(timestamp))[tp]
    } catch {
      throw Self.translate(error, topic: partition.topic)
    }
    guard let found, found >= 0 else { return nil }
    return found
  }
}
