import SluiceCore

/// Who reads which partition in one consumer group of the embedded store: a value-type state
/// machine, no I/O. Members subscribe to topics; the target gives the group's partitions, sorted,
/// to the members subscribed to their topic in turn (member ids in numeric order, so sink task
/// `i` of `n` gets every `n`-th partition from `i`, as before groups existed).
///
/// A partition moves in two steps, as in Kafka's rebalance: its owner is told to revoke it, and
/// it is free for its new member only once the owner acknowledges (its next poll) or leaves.
/// So two members never deliver the same partition at once.
struct PartitionAssignment: Sendable {
  /// What a member's poll learns: partitions to stop (then acknowledge) and partitions to start.
  struct Change: Equatable, Sendable {
    var revoked: [TopicPartition] = []
    var assigned: [TopicPartition] = []
    /// Partitions this poll acknowledged giving up: free now for the members waiting on them.
    var released: [TopicPartition] = []
    var isEmpty: Bool { revoked.isEmpty && assigned.isEmpty }
  }

  private(set) var subscriptions: [String: Set<String>] = [:]
  private(set) var owners: [TopicPartition: String] = [:]
  /// Partitions a member was told to revoke and has not acknowledged yet.
  private var revoking: [String: Set<TopicPartition>] = [:]

  mutating func join(_ member: String, topics: [String]) {
    subscriptions[member] = Set(topics)
  }

  /// The member is gone: everything it had is free.
  mutating func leave(_ member: String) {
    subscriptions[member] = nil
    revoking[member] = nil
    owners = owners.filter { $0.value != member }
  }

  /// Which member should read each of `partitions` (every partition of the group's topics).
  func target(_ partitions: [TopicPartition]) -> [TopicPartition: String] {
    var byTopic: [String: [String]] = [:]
    for (member, topics) in subscriptions {
      for topic in topics { byTopic[topic, default: []].append(member) }
    }
    let order = { (a: String, b: String) in (a.count, a) < (b.count, b) }
    var subscribed: [String] = []
    for members in byTopic.values { subscribed += members }
    let members = Set(subscribed).sorted(by: order)
    var target: [TopicPartition: String] = [:]
    // One turn across the group, members skipping partitions of topics they do not read.
    var turn = 0
    for tp in partitions.sorted() {
      guard let readers = byTopic[tp.topic], !readers.isEmpty else { continue }
      let eligible = members.filter { readers.contains($0) }
      target[tp] = eligible[turn % eligible.count]
      turn += 1
    }
    return target
  }

  /// A member's poll: first acknowledges what it was told to revoke last time, then says what
  /// it must now revoke and what it may now take, given the group's current `partitions`.
  mutating func poll(_ member: String, partitions: [TopicPartition]) -> Change {
    var change = Change()
    for tp in (revoking.removeValue(forKey: member) ?? []).sorted() where owners[tp] == member {
      owners[tp] = nil
      change.released.append(tp)
    }
    guard subscriptions[member] != nil else { return change }
    let target = target(partitions)
    for (tp, owner) in owners where owner == member && target[tp] != member {
      change.revoked.append(tp)
    }
    for (tp, wanted) in target where wanted == member && owners[tp] == nil {
      owners[tp] = member
      change.assigned.append(tp)
    }
    change.revoked.sort()
    change.assigned.sort()
    if !change.revoked.isEmpty { revoking[member] = Set(change.revoked) }
    return change
  }
}
