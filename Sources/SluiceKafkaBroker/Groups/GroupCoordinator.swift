import Foundation
import SluiceCore
import SluiceKafka

/// The broker's consumer groups: each group's ``GroupMembership``, the JoinGroup and SyncGroup
/// requests waiting for a rebalance to complete, and the committed offsets (``GroupOffsetStore``).
/// The state machine decides; this actor only parks and resumes the waiting requests and runs
/// the clock (``runTicker()``) that expires sessions and ends rebalances.
public actor GroupCoordinator {
  private var groups: [String: GroupMembership] = [:]
  private var joinWaiters:
    [String: [String: CheckedContinuation<GroupMembership.JoinAnswer, Never>]] =
      [:]
  private var syncWaiters:
    [String: [String: CheckedContinuation<(KafkaErrorCode, [UInt8]), Never>]] =
      [:]
  let offsets: GroupOffsetStore
  private let initialDelay: Duration

  /// Offsets live in `directory` (created if needed).
  public init(directory: String, initialDelay: Duration = .milliseconds(300)) throws {
    offsets = try GroupOffsetStore(folder: directory)
    self.initialDelay = initialDelay
  }

  /// Ticks every group every 100 ms until cancelled.
  public func runTicker() async {
    while !Task.isCancelled {
      try? await Task.sleep(for: .milliseconds(100))
      let now = ContinuousClock.now
      for id in Array(groups.keys) {
        let actions = groups[id]!.tick(now: now)
        deliver(actions, group: id)
      }
    }
  }

  // MARK: - Membership

  func join(
    group id: String, memberID: String, instanceID: String?, clientID: String,
    clientHost: String, protocolType: String, protocols: [GroupMembership.ProtocolChoice],
    sessionTimeout: Duration, rebalanceTimeout: Duration
  ) async -> GroupMembership.JoinAnswer {
    var group = groups[id] ?? GroupMembership(groupID: id, initialDelay: initialDelay)
    let (member, actions) = group.join(
      memberID: memberID, instanceID: instanceID, clientID: clientID, clientHost: clientHost,
      protocolType: protocolType, protocols: protocols, sessionTimeout: sessionTimeout,
      rebalanceTimeout: rebalanceTimeout, now: .now)
    groups[id] = group
    var own: GroupMembership.JoinAnswer?
    var others: [GroupMembership.Action] = []
    for action in actions {
      if case .answerJoin(let answer) = action, answer.memberID == member {
        own = answer
      } else {
        others.append(action)
      }
    }
    deliver(others, group: id)
    if let own { return own }
    // A second join of one member (a retry) replaces the first, which is told to rejoin.
    joinWaiters[id]?[member]?.resume(
      returning: .init(error: .rebalanceInProgress, memberID: member))
    return await withCheckedContinuation { joinWaiters[id, default: [:]][member] = $0 }
  }

  func sync(group id: String, memberID: String, generation: Int32, assignments: [String: [UInt8]])
    async -> (KafkaErrorCode, [UInt8])
  {
    guard var group = groups[id] else { return (.unknownMemberID, []) }
    let actions = group.sync(
      memberID: memberID, generation: generation, assignments: assignments, now: .now)
    groups[id] = group
    var own: (KafkaErrorCode, [UInt8])?
    var others: [GroupMembership.Action] = []
    for action in actions {
      if case .answerSync(let member, let error, let assignment) = action, member == memberID {
        own = (error, assignment)
      } else {
        others.append(action)
      }
    }
    deliver(others, group: id)
    if let own { return own }
    syncWaiters[id]?[memberID]?.resume(returning: (.rebalanceInProgress, []))
    return await withCheckedContinuation { syncWaiters[id, default: [:]][memberID] = $0 }
  }

  func heartbeat(group id: String, memberID: String, generation: Int32) -> KafkaErrorCode {
    guard groups[id] != nil else { return .unknownMemberID }
    return groups[id]!.heartbeat(memberID: memberID, generation: generation, now: .now)
  }

  /// Removes members; returns those the group did not know.
  func leave(group id: String, memberIDs: [String]) -> [String] {
    guard groups[id] != nil else { return memberIDs }
    let (unknown, actions) = groups[id]!.leave(memberIDs: memberIDs, now: .now)
    deliver(actions, group: id)
    return unknown
  }

  private func deliver(_ actions: [GroupMembership.Action], group id: String) {
    for action in actions {
      switch action {
      case .answerJoin(let answer):
        joinWaiters[id]?.removeValue(forKey: answer.memberID)?.resume(returning: answer)
      case .answerSync(let member, let error, let assignment):
        syncWaiters[id]?.removeValue(forKey: member)?.resume(returning: (error, assignment))
      }
    }
  }

  // MARK: - Offsets

  /// Stores offsets for `group` if `memberID` at `generation` may commit; the error otherwise.
  func commit(
    group id: String, memberID: String, generation: Int32,
    offsets committed: [TopicPartition: GroupOffsetStore.Committed]
  ) async -> KafkaErrorCode {
    let error =
      groups[id]?.commitError(memberID: memberID, generation: generation)
      ?? (generation < 0 ? .none : .unknownMemberID)
    guard error == .none else { return error }
    do {
      try await offsets.commit(committed, group: id)
      return .none
    } catch {
      return .kafkaStorageError
    }
  }

  /// Stores the offsets a transaction committed (TxnOffsetCommit, then EndTxn): the
  /// transaction coordinator checked the producer, the group's generation is not asked.
  func commitTransactional(
    _ committed: [TopicPartition: GroupOffsetStore.Committed], group id: String
  )
    async -> Bool
  {
    do {
      try await offsets.commit(committed, group: id)
      return true
    } catch {
      return false
    }
  }

  func committedOffsets(group id: String) -> [TopicPartition: GroupOffsetStore.Committed] {
    offsets.offsets(of: id)
  }

  // MARK: - Describing

  /// A group as DescribeGroups, ListGroups and `sluice groups` show it.
  public struct Summary: Sendable {
    public var groupID: String
    public var state: String
    public var protocolType: String
    public var protocolName: String
    public var generation: Int32
    public var members: [MemberSummary]
  }

  public struct MemberSummary: Sendable {
    public var memberID: String
    public var instanceID: String?
    public var clientID: String
    public var clientHost: String
    public var metadata: [UInt8]
    public var assignment: [UInt8]
  }

  /// Every group with members or committed offsets.
  public func summaries() -> [Summary] {
    Set(groups.keys).union(offsets.groups).sorted().map(summary)
  }

  func summary(_ id: String) -> Summary {
    guard let group = groups[id] else {
      return Summary(
        groupID: id, state: offsets.groups.contains(id) ? "Empty" : "Dead", protocolType: "",
        protocolName: "", generation: 0, members: [])
    }
    return Summary(
      groupID: id, state: group.phase.rawValue, protocolType: group.protocolType ?? "",
      protocolName: group.protocolName ?? "", generation: group.generation,
      members: group.membersInOrder.map {
        MemberSummary(
          memberID: $0.id, instanceID: $0.instanceID, clientID: $0.clientID,
          clientHost: $0.clientHost, metadata: $0.metadata(for: group.protocolName),
          assignment: $0.assignment)
      })
  }

  /// Committed offsets of every group, for `sluice groups` and the admin API.
  public func allCommittedOffsets() -> [String: [TopicPartition: Int64]] {
    var out: [String: [TopicPartition: Int64]] = [:]
    for group in offsets.groups { out[group] = offsets.offsets(of: group).mapValues(\.offset) }
    return out
  }

  /// Forgets a deleted topic's committed offsets.
  func forget(topic: String) { offsets.forget(topic: topic) }
}

extension GroupCoordinator: ConsumerGroupDirectory {
  public func consumerGroups() async -> [ConsumerGroupSummary] {
    let committed = allCommittedOffsets()
    return summaries().filter { $0.state != "Dead" }.map {
      ConsumerGroupSummary(
        group: $0.groupID, state: $0.state, members: $0.members.count,
        committed: committed[$0.groupID] ?? [:])
    }
  }
}
