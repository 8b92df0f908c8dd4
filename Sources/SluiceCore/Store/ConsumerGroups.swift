/// A Kafka consumer group as the admin API and `sluice groups` show it: its state and members,
/// and the offset it committed in each partition.
public struct ConsumerGroupSummary: Sendable, Equatable {
  public var group: String
  /// Kafka's group state: Empty, PreparingRebalance, CompletingRebalance or Stable.
  public var state: String
  public var members: Int
  public var committed: [TopicPartition: Int64]

  public init(group: String, state: String, members: Int, committed: [TopicPartition: Int64]) {
    self.group = group
    self.state = state
    self.members = members
    self.committed = committed
  }
}

/// Where the admin API reads consumer groups from (the Kafka listener's coordinator), without
/// depending on the listener.
public protocol ConsumerGroupDirectory: Sendable {
  func consumerGroups() async -> [ConsumerGroupSummary]
}
