// The chain's record made from, and written back to, the records sources send and sinks get.

extension TransformRecord {
  public init(_ record: SourceRecord) {
    self.init(
      topic: record.topic, partition: record.partition, key: record.key, value: record.value,
      headers: record.headers, timestamp: record.timestamp)
  }

  public init(_ record: Record) {
    self.init(
      topic: record.topic, partition: record.partition, key: record.key, value: record.value,
      headers: record.headers, timestamp: record.timestamp, offset: record.offset)
  }

  /// The source record it became; the position stays the original's, so exactly-once holds
  /// whatever the chain changed.
  public consuming func sourceRecord(position: SourcePosition?) -> SourceRecord {
    SourceRecord(
      topic: topic, partition: partition, key: key.bytes, value: value.bytes, headers: headers,
      timestamp: timestamp, position: position)
  }

  /// The record a sink is given: where it was read from stays the original's (offsets are
  /// committed for it), the rest is what the chain made.
  public func sinkRecord(from original: Record) -> Record {
    Record(
      topic: topic, partition: original.partition, offset: original.offset, timestamp: timestamp,
      key: key.bytes, value: value.bytes, headers: headers)
  }
}
