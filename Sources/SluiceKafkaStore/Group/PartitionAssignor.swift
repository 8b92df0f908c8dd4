/// How a group's leader splits partitions among members (the classic "consumer" protocol's
/// client-side assignors).
public enum PartitionAssignor: String, Sendable, CaseIterable {
  /// Per topic, consecutive ranges of partitions; the first members get one more when the
  /// count does not divide (Kafka's RangeAssignor).
  case range
  /// Every partition of every topic, in order, dealt to the members one by one, each time to
  /// the next member subscribed to the partition's topic (Kafka's RoundRobinAssignor).
  case roundRobin = "roundrobin"

  /// The assignment of each member (by member id) given their subscriptions and each topic's
  /// partition count; every member is in the result, also with nothing assigned.
  public func assign(subscriptions: [String: Set<String>], partitionCounts: [String: Int])
    -> [String: [KafkaTopicPartition]]
  {
    var result = subscriptions.mapValues { _ in [KafkaTopicPartition]() }
    let members = subscriptions.keys.sorted()
    switch self {
    case .range:
      let topics = Set(subscriptions.values.flatMap { $0 }).sorted()
      for topic in topics {
        let count = partitionCounts[topic] ?? 0
        let subscribed = members.filter { subscriptions[$0]!.contains(topic) }
        guard !subscribed.isEmpty else { continue }
        let each = count / subscribed.count
        let extra = count % subscribed.count
        var next = 0
        for (index, member) in subscribed.enumerated() {
          let take = each + (index < extra ? 1 : 0)
          for partition in next..<(next + take) {
            result[member]!.append(KafkaTopicPartition(topic, Int32(partition)))
          }
          next += take
        }
      }
    case .roundRobin:
      let topics = Set(subscriptions.values.flatMap { $0 }).sorted()
      var cursor = 0
      for topic in topics {
        for partition in 0..<(partitionCounts[topic] ?? 0) {
          for step in 0..<members.count {
            let member = members[(cursor + step) % members.count]
            if subscriptions[member]!.contains(topic) {
              result[member]!.append(KafkaTopicPartition(topic, Int32(partition)))
              cursor = (cursor + step + 1) % members.count
              break
            }
          }
        }
      }
    }
    return result
  }
}
