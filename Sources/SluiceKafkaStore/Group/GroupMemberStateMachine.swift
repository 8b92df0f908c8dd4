import SluiceKafka

/// A classic consumer-group member (eager rebalancing) as a value: it says which request to
/// send next and what the caller must hand to its code (partitions revoked, partitions
/// assigned), and learns from each answer's error code. It does no I/O; ``ConsumerGroupMember``
/// executes its actions.
///
/// ```
/// unjoined → joining → syncing → stable ─(heartbeat: REBALANCE_IN_PROGRESS)→ joining …
///                                  └─ leave → left
/// ```
public struct GroupMemberStateMachine: Sendable, Equatable {
  /// Where the member is.
  public enum State: Sendable, Equatable {
    /// Not in the group.
    case unjoined
    /// JoinGroup in flight (or about to be sent).
    case joining
    /// SyncGroup in flight for this generation.
    case syncing(generation: Int32)
    /// Holding an assignment in this generation; heartbeats keep it.
    case stable(generation: Int32)
    /// Left the group (or failed for good).
    case left
  }

  /// What to do next.
  public enum Action: Sendable, Equatable {
    /// Send JoinGroup with this member id ("" for a new member).
    case sendJoin(memberId: String)
    /// Send SyncGroup; as the leader (`members` not nil), with an assignment for each member
    /// computed from their subscriptions.
    case sendSync(generation: Int32, memberId: String, protocolName: String, members: [Member]?)
    /// Hand these partitions to the caller: the group assigned them.
    case assigned([KafkaTopicPartition])
    /// Take these partitions from the caller (stop, commit), then send JoinGroup.
    case revokeAndRejoin([KafkaTopicPartition])
    /// Send a Heartbeat.
    case sendHeartbeat(generation: Int32, memberId: String)
    /// Send LeaveGroup, after taking these partitions from the caller.
    case sendLeave(memberId: String, revoked: [KafkaTopicPartition])
    /// Wait (backoff) then send JoinGroup again.
    case rejoinAfterBackoff
    /// Forget the coordinator, so the next request looks it up again; the member stays in
    /// the group.
    case findCoordinator
    /// Nothing to do.
    case none
    /// The member cannot go on.
    case fail(String)
  }

  /// A member as the JoinGroup answer lists it to the leader.
  public struct Member: Sendable, Equatable {
    /// The member id.
    public var memberId: String
    /// Its subscription (ConsumerProtocolSubscription bytes).
    public var metadata: [UInt8]

    /// A member `memberId` with subscription `metadata`.
    public init(memberId: String, metadata: [UInt8]) {
      self.memberId = memberId
      self.metadata = metadata
    }
  }

  /// The current state.
  public private(set) var state = State.unjoined
  /// The member id the coordinator gave ("" before).
  public private(set) var memberId = ""
  /// The partitions held now.
  public private(set) var assignment: [KafkaTopicPartition] = []
  /// The generation of the last successful join (-1 before).
  public private(set) var generation: Int32 = -1

  /// A member not yet in the group.
  public init() {}

  /// Starts joining.
  public mutating func start() -> Action {
    guard state == .unjoined else { return .none }
    state = .joining
    return .sendJoin(memberId: memberId)
  }

  /// A JoinGroup answer.
  public mutating func joinAnswered(
    errorCode: Int16, memberId: String, generation: Int32, leader: String,
    protocolName: String?, members: [Member]
  ) -> Action {
    guard state == .joining else { return .none }
    switch KafkaErrorCode(rawValue: errorCode) {
    case .none?:
      self.memberId = memberId
      self.generation = generation
      state = .syncing(generation: generation)
      return .sendSync(
        generation: generation, memberId: memberId, protocolName: protocolName ?? "",
        members: leader == memberId ? members : nil)
    case .memberIDRequired?:
      // KIP-394: join again at once with the id the coordinator chose.
      self.memberId = memberId
      return .sendJoin(memberId: memberId)
    case .unknownMemberID?:
      self.memberId = ""
      return .sendJoin(memberId: "")
    case .rebalanceInProgress?, .coordinatorLoadInProgress?, .coordinatorNotAvailable?,
      .notCoordinator?, .illegalGeneration?:
      return .rejoinAfterBackoff
    default:
      state = .left
      return .fail(KafkaClientError.server(errorCode, "JoinGroup").message)
    }
  }

  /// The caller is about to send JoinGroup again (after a backoff or a revoke).
  public mutating func rejoining() -> Action {
    state = .joining
    return .sendJoin(memberId: memberId)
  }

  /// A SyncGroup answer with the member's assignment.
  public mutating func syncAnswered(errorCode: Int16, assignment: [KafkaTopicPartition]) -> Action {
    guard case .syncing(let generation) = state else { return .none }
    switch KafkaErrorCode(rawValue: errorCode) {
    case .none?:
      state = .stable(generation: generation)
      self.assignment = assignment.sorted()
      return .assigned(self.assignment)
    case .unknownMemberID?:
      memberId = ""
      state = .joining
      return .sendJoin(memberId: "")
    case .rebalanceInProgress?, .illegalGeneration?, .coordinatorLoadInProgress?,
      .coordinatorNotAvailable?, .notCoordinator?:
      state = .joining
      return .rejoinAfterBackoff
    default:
      state = .left
      return .fail(KafkaClientError.server(errorCode, "SyncGroup").message)
    }
  }

  /// The heartbeat timer fired.
  public func heartbeatDue() -> Action {
    guard case .stable(let generation) = state else { return .none }
    return .sendHeartbeat(generation: generation, memberId: memberId)
  }

  /// A Heartbeat answer (or a commit's error code, which says the same about the group).
  public mutating func heartbeatAnswered(errorCode: Int16) -> Action {
    guard case .stable = state else { return .none }
    switch KafkaErrorCode(rawValue: errorCode) {
    case .none?: return .none
    case .rebalanceInProgress?:
      return revokeAll()
    case .unknownMemberID?, .illegalGeneration?, .fencedInstanceID?:
      if KafkaErrorCode(rawValue: errorCode) == .unknownMemberID { memberId = "" }
      return revokeAll()
    case .coordinatorNotAvailable?, .notCoordinator?:
      // The group moved to another coordinator (or this one is going away): heartbeats must
      // go to the new one before the session runs out there, or the member is dropped.
      return .findCoordinator
    case .coordinatorLoadInProgress?:
      // The right coordinator, still loading the group: the next heartbeat tells more.
      return .none
    default:
      state = .left
      return .fail(KafkaClientError.server(errorCode, "Heartbeat").message)
    }
  }

  /// The subscribed topics' partitions changed (a topic was created or grew): rejoin, so the
  /// group's leader assigns them, as Kafka's consumers do when their metadata shows a change.
  public mutating func partitionsChanged() -> Action {
    guard case .stable = state else { return .none }
    return revokeAll()
  }

  private mutating func revokeAll() -> Action {
    let revoked = assignment
    assignment = []
    state = .joining
    return .revokeAndRejoin(revoked)
  }

  /// The caller leaves the group.
  public mutating func leave() -> Action {
    let revoked = assignment
    assignment = []
    let wasMember = state != .unjoined && state != .left && !memberId.isEmpty
    state = .left
    return wasMember ? .sendLeave(memberId: memberId, revoked: revoked) : .none
  }
}
