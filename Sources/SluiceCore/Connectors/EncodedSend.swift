/// One partition's share of a send a source encoded itself
/// (``SourceTaskContext/send(encoded:committing:)``): every record but the last in Kafka's
/// format, and the last one apart, to which the runtime adds its headers (the connector and
/// the position, which it finds a partition's position by after a restart).
public struct EncodedSend: Sendable {
  public var partition: TopicPartition
  /// Every record but the last, in order.
  public var records: EncodedRecords
  /// The partition's last record of the send.
  public var last: OutgoingRecord
  /// Where the source is once `last` is written; past every position durable in `partition`
  /// (an encoded send is never a replay of records already there).
  public var position: SourcePosition

  public init(
    partition: TopicPartition, records: EncodedRecords, last: OutgoingRecord,
    position: SourcePosition
  ) {
    self.partition = partition
    self.records = records
    self.last = last
    self.position = position
  }
}
