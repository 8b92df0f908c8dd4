import Foundation
import SluiceKafka

/// One consumer group's membership under Kafka's classic protocol, as a value: joins, syncs,
/// heartbeats, leaves and the clock go in, answers to send come out (STYLE.md §1), so every
/// transition is a unit test without a socket.
///
/// The phases are Kafka's: Empty → PreparingRebalance (members join; it ends when every known
/// member has rejoined, or at the rebalance timeout without those that have not) →
/// CompletingRebalance (the leader, given every member's subscription, computes the assignment
/// and sends it with its SyncGroup) → Stable. The assignment is opaque bytes, passed through.
///
/// A group that starts empty waits `initialDelay` after each new member (up to the rebalance
/// timeout) so that consumers started together join one generation — Kafka waits 3 s; a short
/// delay gives a fresh consumer its partitions well within a second.
struct GroupMembership: Sendable {
  enum Phase: String, Sendable {
    case empty = "Empty"
    case preparingRebalance = "PreparingRebalance"
    case completingRebalance = "CompletingRebalance"
    case stable = "Stable"
  }

  struct ProtocolChoice: Sendable, Equatable {
    var name: String
    var metadata: [UInt8]
  }

  struct Member: Sendable {
    var id: String
    var instanceID: String?
    var clientID: String
    var clientHost: String
    var sessionTimeout: Duration
    var rebalanceTimeout: Duration
    var protocols: [ProtocolChoice]
    var assignment: [UInt8] = []
    var lastSeen: ContinuousClock.Instant
    /// Has sent JoinGroup for the rebalance under way and waits for its answer.
    var awaitingJoin = false
    /// Has sent SyncGroup and waits for the leader's assignment.
    var awaitingSync = false

    /// This member's subscription for the group's protocol.
    func metadata(for name: String?) -> [UInt8] {
      protocols.first { $0.name == name }?.metadata ?? []
    }
  }

  /// The answer to one member's JoinGroup.
  struct JoinAnswer: Sendable, Equatable {
    var error: KafkaErrorCode = .none
    var generation: Int32 = -1
    var protocolName: String?
    var leader: String = ""
    var memberID: String
    /// Every member with its subscription: for the leader only.
    var members: [(id: String, instanceID: String?, metadata: [UInt8])] = []

    static func == (a: JoinAnswer, b: JoinAnswer) -> Bool {
      a.error == b.error && a.generation == b.generation && a.protocolName == b.protocolName
        && a.leader == b.leader && a.memberID == b.memberID
        && a.members.map(\.id) == b.members.map(\.id)
        && a.members.map(\.metadata) == b.members.map(\.metadata)
    }
  }

  enum Action: Sendable, Equatable {
    case answerJoin(JoinAnswer)
    case answerSync(memberID: String, error: KafkaErrorCode, assignment: [UInt8])
  }

  let groupID: String
  let initialDelay: Duration
  private(set) var phase = Phase.empty
  private(set) var generation: Int32 = 0
  private(set) var protocolType: String?
  private(set) var protocolName: String?
  private(set) var leader: String?
  private(set) var members: [String: Member] = [:]
  /// Member ids in the order they joined: the first still there leads.
  private var order: [String] = []
  private var rebalanceDeadline: ContinuousClock.Instant?
  private var delayDeadline: ContinuousClock.Instant?

  init(groupID: String, initialDelay: Duration = .milliseconds(300)) {
    self.groupID = groupID
    self.initialDelay = initialDelay
  }

  var membersInOrder: [Member] { order.compactMap { members[$0] } }

  // MARK: - Events

  /// A JoinGroup. An empty `memberID` is a new member, given an id here. Returns that id and
  /// what to answer now (the join's own answer may come later, from another event or ``tick``).
  mutating func join(
    memberID: String, instanceID: String?, clientID: String, clientHost: String,
    protocolType: String, protocols: [ProtocolChoice], sessionTimeout: Duration,
    rebalanceTimeout: Duration, now: ContinuousClock.Instant
  ) -> (memberID: String, actions: [Action]) {
    func refuse(_ error: KafkaErrorCode) -> (String, [Action]) {
      (memberID, [.answerJoin(JoinAnswer(error: error, memberID: memberID))])
    }
    if protocolType.isEmpty || protocols.isEmpty { return refuse(.inconsistentGroupProtocol) }
    if phase != .empty, let current = self.protocolType, current != protocolType {
      return refuse(.inconsistentGroupProtocol)
    }
    if !memberID.isEmpty && members[memberID] == nil { return refuse(.unknownMemberID) }
    let others = members.values.filter { $0.id != memberID }
    if !others.isEmpty {
      let supported = others.reduce(Set(others[0].protocols.map(\.name))) {
        $0.intersection($1.protocols.map(\.name))
      }
      if supported.isDisjoint(with: protocols.map(\.name)) {
        return refuse(.inconsistentGroupProtocol)
      }
    }

    let id =
      memberID.isEmpty
      ? "\(clientID.isEmpty ? "member" : clientID)-\(UUID().uuidString.lowercased())" : memberID
    let isNew = members[id] == nil
    let unchanged = !isNew && members[id]!.protocols == protocols
    var member =
      members[id]
      ?? Member(
        id: id, instanceID: instanceID, clientID: clientID, clientHost: clientHost,
        sessionTimeout: sessionTimeout, rebalanceTimeout: rebalanceTimeout, protocols: protocols,
        lastSeen: now)
    member.protocols = protocols
    member.sessionTimeout = sessionTimeout
    member.rebalanceTimeout = rebalanceTimeout
    member.lastSeen = now
    members[id] = member
    if isNew { order.append(id) }
    self.protocolType = protocolType

    // A follower rejoining a stable group unchanged gets the current generation back.
    if phase == .stable && unchanged && id != leader {
      return (id, [.answerJoin(answer(for: id))])
    }
    members[id]!.awaitingJoin = true
    var actions: [Action] = []
    switch phase {
    case .empty, .stable, .completingRebalance:
      actions += startRebalance(now: now, fromEmpty: phase == .empty)
    case .preparingRebalance:
      if isNew, let delay = delayDeadline {
        delayDeadline = min(max(delay, now + initialDelay), rebalanceDeadline ?? delay)
      }
    }
    actions += completeJoinIfReady(now: now)
    return (id, actions)
  }

  /// A SyncGroup; the leader's carries the assignment of every member.
  mutating func sync(
    memberID: String, generation: Int32, assignments: [String: [UInt8]],
    now: ContinuousClock.Instant
  ) -> [Action] {
    func refuse(_ error: KafkaErrorCode) -> [Action] {
      [.answerSync(memberID: memberID, error: error, assignment: [])]
    }
    guard members[memberID] != nil else { return refuse(.unknownMemberID) }
    guard generation == self.generation else { return refuse(.illegalGeneration) }
    members[memberID]!.lastSeen = now
    switch phase {
    case .empty: return refuse(.unknownMemberID)
    case .preparingRebalance: return refuse(.rebalanceInProgress)
    case .stable:
      return [
        .answerSync(memberID: memberID, error: .none, assignment: members[memberID]!.assignment)
      ]
    case .completingRebalance:
      members[memberID]!.awaitingSync = true
      guard memberID == leader else { return [] }
      for id in members.keys { members[id]!.assignment = assignments[id] ?? [] }
      phase = .stable
      var actions: [Action] = []
      for id in order where members[id]?.awaitingSync == true {
        members[id]!.awaitingSync = false
        actions.append(.answerSync(memberID: id, error: .none, assignment: members[id]!.assignment))
      }
      return actions
    }
  }

  /// A Heartbeat: the error to answer with (none when the member is in step).
  mutating func heartbeat(memberID: String, generation: Int32, now: ContinuousClock.Instant)
    -> KafkaErrorCode
  {
    guard members[memberID] != nil else { return .unknownMemberID }
    members[memberID]!.lastSeen = now
    if phase == .preparingRebalance { return .rebalanceInProgress }
    if generation != self.generation { return .illegalGeneration }
    return .none
  }

  /// A LeaveGroup (or a removed static member): the others rebalance.
  mutating func leave(memberIDs: [String], now: ContinuousClock.Instant) -> (
    unknown: [String], actions: [Action]
  ) {
    let unknown = memberIDs.filter { members[$0] == nil }
    let leaving = memberIDs.filter { members[$0] != nil }
    guard !leaving.isEmpty else { return (unknown, []) }
    var actions: [Action] = []
    for id in leaving { actions += remove(id) }
    actions += afterRemoval(now: now)
    return (unknown, actions)
  }

  /// Time passing: members whose session ran out are removed, and a rebalance whose members
  /// have all rejoined (or whose time is up) completes.
  mutating func tick(now: ContinuousClock.Instant) -> [Action] {
    let expired = members.values.filter {
      !$0.awaitingJoin && now - $0.lastSeen > $0.sessionTimeout
    }.map(\.id)
    var actions: [Action] = []
    for id in expired { actions += remove(id) }
    if !expired.isEmpty { actions += afterRemoval(now: now) }
    actions += completeJoinIfReady(now: now)
    return actions
  }

  /// Whether an OffsetCommit of `memberID` at `generation` may be stored: from the current
  /// generation's members, or from a consumer outside any group generation (-1) while the
  /// group has no members.
  func commitError(memberID: String, generation: Int32) -> KafkaErrorCode {
    if generation < 0 && memberID.isEmpty { return members.isEmpty ? .none : .unknownMemberID }
    guard members[memberID] != nil else { return .unknownMemberID }
    if generation != self.generation { return .illegalGeneration }
    if phase == .completingRebalance { return .rebalanceInProgress }
    return .none
  }

  // MARK: - Rebalancing

  private mutating func startRebalance(now: ContinuousClock.Instant, fromEmpty: Bool) -> [Action] {
    var actions: [Action] = []
    // Syncs waiting on the old generation will not get an assignment.
    for id in order where members[id]?.awaitingSync == true {
      members[id]!.awaitingSync = false
      actions.append(.answerSync(memberID: id, error: .rebalanceInProgress, assignment: []))
    }
    phase = .preparingRebalance
    let longest = members.values.map(\.rebalanceTimeout).max() ?? .seconds(60)
    rebalanceDeadline = now + longest
    delayDeadline = fromEmpty ? now + initialDelay : nil
    return actions
  }

  private mutating func completeJoinIfReady(now: ContinuousClock.Instant) -> [Action] {
    guard phase == .preparingRebalance, let deadline = rebalanceDeadline else { return [] }
    let everyoneIn = members.values.allSatisfy(\.awaitingJoin)
    let delayOver = delayDeadline.map { now >= $0 } ?? true
    guard (everyoneIn && delayOver) || now >= deadline else { return [] }
    // Those that did not rejoin in time are out.
    for id in order where members[id]?.awaitingJoin == false { _ = remove(id) }
    generation &+= 1
    rebalanceDeadline = nil
    delayDeadline = nil
    guard !members.isEmpty else {
      becomeEmpty()
      return []
    }
    protocolName = chooseProtocol()
    if leader == nil || members[leader!] == nil { leader = order.first }
    phase = .completingRebalance
    var actions: [Action] = []
    for id in order {
      members[id]!.awaitingJoin = false
      members[id]!.lastSeen = now
      actions.append(.answerJoin(answer(for: id)))
    }
    return actions
  }

  private func answer(for id: String) -> JoinAnswer {
    JoinAnswer(
      generation: generation, protocolName: protocolName, leader: leader ?? "", memberID: id,
      members: id == leader
        ? membersInOrder.map { ($0.id, $0.instanceID, $0.metadata(for: protocolName)) } : [])
  }

  /// The protocol every member supports that most members prefer (Kafka's vote).
  private func chooseProtocol() -> String? {
    let all = membersInOrder
    guard let first = all.first else { return nil }
    let candidates = all.dropFirst().reduce(Set(first.protocols.map(\.name))) {
      $0.intersection($1.protocols.map(\.name))
    }
    var votes: [String: Int] = [:]
    for member in all {
      if let favourite = member.protocols.first(where: { candidates.contains($0.name) }) {
        votes[favourite.name, default: 0] += 1
      }
    }
    // Ties go to the leader's order of preference.
    return first.protocols.map(\.name).filter(candidates.contains).max {
      votes[$0, default: 0] < votes[$1, default: 0]
    }
  }

  private mutating func remove(_ id: String) -> [Action] {
    guard let member = members.removeValue(forKey: id) else { return [] }
    order.removeAll { $0 == id }
    if leader == id { leader = nil }
    var actions: [Action] = []
    if member.awaitingJoin {
      actions.append(.answerJoin(JoinAnswer(error: .unknownMemberID, memberID: id)))
    }
    if member.awaitingSync {
      actions.append(.answerSync(memberID: id, error: .unknownMemberID, assignment: []))
    }
    return actions
  }

  private mutating func afterRemoval(now: ContinuousClock.Instant) -> [Action] {
    if members.isEmpty {
      if phase != .empty { generation &+= 1 }
      becomeEmpty()
      return []
    }
    switch phase {
    case .stable, .completingRebalance: return startRebalance(now: now, fromEmpty: false)
    case .preparingRebalance: return completeJoinIfReady(now: now)
    case .empty: return []
    }
  }

  private mutating func becomeEmpty() {
    phase = .empty
    protocolName = nil
    leader = nil
    rebalanceDeadline = nil
    delayDeadline = nil
  }
}
