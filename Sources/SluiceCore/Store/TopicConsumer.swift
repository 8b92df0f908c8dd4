/// What one ``TopicConsumer/poll(maxRecords:maxBytes:timeout:)`` brings: a change of the
/// consumer's partitions, or records of the partitions it has.
///
/// Revoked partitions stay this consumer's until its next poll: before calling poll again, the
/// caller finishes with them (commits what it delivered, closes them), and only then may the
/// group give them to another member. A poll that reports a change brings no records.
public struct ConsumerPoll: Sendable {
  /// Partitions taken away: deliver none of their records that are still in hand.
  public var revoked: [TopicPartition] = []
  /// Partitions given: ``TopicConsumer/seek(_:to:)`` each to where delivery resumes.
  public var assigned: [TopicPartition] = []
  /// Records in offset order per partition, partitions in turn so none starves.
  public var records: [Record] = []
  /// Partitions whose position retention removed, moved to the first offset still kept.
  public var skipped: [(partition: TopicPartition, from: Int64, to: Int64)] = []

  public init(
    revoked: [TopicPartition] = [], assigned: [TopicPartition] = [], records: [Record] = [],
    skipped: [(partition: TopicPartition, from: Int64, to: Int64)] = []
  ) {
    self.revoked = revoked
    self.assigned = assigned
    self.records = records
    self.skipped = skipped
  }
}

/// A reader of topics shaped like Kafka's consumer, which every store provides: partitions are
/// either assigned by hand or shared by the members of a group subscribed to the same topics;
/// each partition is read from a position the caller seeks to, waiting up to a timeout for
/// records; and what was delivered is committed to the group.
///
/// One caller at a time: a sink task's runner owns its consumer.
public protocol TopicConsumer: Sendable {
  /// Reads exactly these partitions, outside any group (the admin API, `sluice consume`).
  func assign(_ partitions: [TopicPartition]) async
  /// Joins the consumer's group for `topics`; partitions arrive through ``poll``.
  func subscribe(_ topics: [String]) async throws
  /// Where the next poll reads `partition` from.
  func seek(_ partition: TopicPartition, to offset: Int64) async
  /// Records from the positions of this consumer's partitions, or a change of its partitions;
  /// waits up to `timeout` when there is nothing to give.
  func poll(maxRecords: Int, maxBytes: Int, timeout: Duration) async throws -> ConsumerPoll
  /// The group's committed next offsets of these partitions (those it has).
  func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64]
  /// Records the next offsets to deliver, durably, for the group.
  func commit(_ offsets: [TopicPartition: Int64]) async throws
  /// Leaves the group: its partitions go to the other members.
  func close() async
}
