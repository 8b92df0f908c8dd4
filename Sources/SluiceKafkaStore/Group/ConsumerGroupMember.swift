import SluiceKafka

/// A change of a member's partitions, handed to the member's owner.
public enum RebalanceEvent: Sendable, Equatable {
  /// The group assigned these partitions: start reading them (from their committed offsets).
  case assigned([KafkaTopicPartition])
  /// These partitions are taken away: stop reading them and commit what was processed,
  /// before the callback returns.
  case revoked([KafkaTopicPartition])
}

/// A member of a classic consumer group (protocol type "consumer", eager rebalancing), for
/// sinks: finds the group's coordinator, joins (computing the assignment with
/// ``PartitionAssignor`` when it is the leader), syncs, heartbeats on a timer, hands assigned and
/// revoked partitions to `onRebalance`, commits and fetches offsets, and leaves. Its protocol
/// state is a ``GroupMemberStateMachine``.
///
/// Give each member its own ``KafkaClient`` (as each Java consumer has its own network client):
/// group requests go over the client's coordinator connection, and a broker serves one request
/// at a time per connection, so one member's JoinGroup, held until the rebalance completes,
/// would hold another member's heartbeats and rejoin behind it. Fetches use the client's data
/// connections and are not held up.
public actor ConsumerGroupMember {
  /// The cluster client.
  public nonisolated let client: KafkaClient
  /// The group id.
  public nonisolated let groupId: String
  /// The topics the member subscribes to.
  public nonisolated let topics: [String]
  /// The assignor offered (and used when this member leads).
  public nonisolated let assignor: PartitionAssignor
  /// A static member id (KIP-345), or nil.
  public nonisolated let groupInstanceId: String?
  private let sessionTimeout: Duration
  private let rebalanceTimeout: Duration
  private let heartbeatInterval: Duration
  /// How often the member looks at the subscribed topics' partition counts (Kafka's
  /// `metadata.max.age.ms` plays this part).
  private let metadataCheckInterval: Duration
  /// The partition counts of the subscribed topics when the member last looked.
  private var knownPartitionCounts: [String: Int] = [:]
  private let onRebalance: @Sendable (RebalanceEvent) async -> Void
  private var machine = GroupMemberStateMachine()
  private var heartbeats: Task<Void, Never>?
  /// The error that ended the member, if one did.
  public private(set) var failure: KafkaClientError?

  /// A member of `groupId` subscribing to `topics`; `onRebalance` gets every assignment and
  /// revocation, in order.
  public init(
    client: KafkaClient, groupId: String, topics: [String], assignor: PartitionAssignor = .range,
    groupInstanceId: String? = nil, sessionTimeout: Duration = .seconds(10),
    rebalanceTimeout: Duration = .seconds(30), heartbeatInterval: Duration = .seconds(1),
    metadataCheckInterval: Duration = .seconds(30),
    onRebalance: @escaping @Sendable (RebalanceEvent) async -> Void = { _ in }
  ) {
    self.client = client
    self.groupId = groupId
    self.topics = topics
    self.assignor = assignor
    self.groupInstanceId = groupInstanceId
    self.sessionTimeout = sessionTimeout
    self.rebalanceTimeout = rebalanceTimeout
    self.heartbeatInterval = heartbeatInterval
    self.metadataCheckInterval = metadataCheckInterval
    self.onRebalance = onRebalance
  }

  /// The partitions held now.
  public var assignment: [KafkaTopicPartition] { machine.assignment }
  /// The member's state.
  public var state: GroupMemberStateMachine.State { machine.state }
  /// What a transactional producer needs to commit this member's offsets (KIP-447).
  public var groupMetadata: ConsumerGroupMetadata {
    ConsumerGroupMetadata(
      groupId: groupId, generationId: machine.generation, memberId: machine.memberId,
      groupInstanceId: groupInstanceId)
  }

  /// Joins the group and returns the first assignment; heartbeats start, and later rebalances
  /// are handled in the background (``RebalanceEvent``s go to `onRebalance`).
  @discardableResult
  public func join() async throws -> [KafkaTopicPartition] {
    knownPartitionCounts = (try? await partitionCounts()) ?? [:]
    try await drive(machine.start())
    heartbeats = Task { await self.heartbeatLoop() }
    return machine.assignment
  }

  /// Leaves the group (LeaveGroup), revoking what it holds first.
  public func leave() async {
    heartbeats?.cancel()
    heartbeats = nil
    guard case .sendLeave(let memberId, let revoked) = machine.leave() else { return }
    if !revoked.isEmpty { await onRebalance(.revoked(revoked)) }
    let request = LeaveGroupRequest(
      groupId: groupId, memberId: memberId,
      members: [.init(memberId: memberId, groupInstanceId: groupInstanceId, reason: "leaving")])
    _ = try? await client.coordinator(.group, key: groupId).send(request)
  }

  // MARK: - Offsets

  /// Commits `offsets` (the next offset to read, per partition) in the member's generation.
  public func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws {
    guard !offsets.isEmpty else { return }
    let byTopic = Dictionary(grouping: offsets.keys, by: \.topic)
    let request = OffsetCommitRequest(
      groupId: groupId, generationIdOrMemberEpoch: machine.generation, memberId: machine.memberId,
      groupInstanceId: groupInstanceId, retentionTimeMs: -1,
      topics: byTopic.keys.sorted().map { topic in
        .init(
          name: topic,
          partitions: byTopic[topic]!.sorted().map {
            .init(
              partitionIndex: $0.partition, committedOffset: offsets[$0]!,
              committedLeaderEpoch: -1, committedMetadata: "")
          })
      })
    let groupId = groupId
    try await client.withRetries("OffsetCommit") {
      let connection = try await self.client.coordinator(.group, key: groupId)
      let response = try await connection.send(request)
      for topic in response.topics {
        for partition in topic.partitions where partition.errorCode != 0 {
          let error = KafkaClientError.server(
            partition.errorCode, "OffsetCommit \(topic.name)-\(partition.partitionIndex)",
            broker: connection.address.description)
          if error.needsMetadataRefresh {
            await self.client.invalidateCoordinator(.group, key: groupId)
          }
          throw error
        }
      }
    }
  }

  /// The committed offsets of `partitions` (absent: nothing committed).
  public func committed(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition:
    Int64]
  {
    let byTopic = Dictionary(grouping: partitions, by: \.topic)
    let topics = byTopic.keys.sorted()
    let request = OffsetFetchRequest(
      groupId: groupId,
      topics: topics.map { .init(name: $0, partitionIndexes: byTopic[$0]!.map(\.partition)) },
      groups: [
        .init(
          groupId: groupId,
          topics: topics.map { .init(name: $0, partitionIndexes: byTopic[$0]!.map(\.partition)) })
      ], requireStable: true)
    let groupId = groupId
    return try await client.withRetries("OffsetFetch") {
      let connection = try await self.client.coordinator(.group, key: groupId)
      let response = try await connection.send(request)
      var result: [KafkaTopicPartition: Int64] = [:]
      var entries: [(String, Int32, Int64, Int16)] = []
      if let group = response.groups.first {
        if group.errorCode != 0 { throw KafkaClientError.server(group.errorCode, "OffsetFetch") }
        for topic in group.topics {
          for p in topic.partitions {
            entries.append((topic.name, p.partitionIndex, p.committedOffset, p.errorCode))
          }
        }
      } else {
        if response.errorCode != 0 {
          throw KafkaClientError.server(response.errorCode, "OffsetFetch")
        }
        for topic in response.topics {
          for p in topic.partitions {
            entries.append((topic.name, p.partitionIndex, p.committedOffset, p.errorCode))
          }
        }
      }
      for (topic, partition, offset, code) in entries {
        if code != 0 {
          throw KafkaClientError.server(code, "OffsetFetch \(topic)-\(partition)")
        }
        if offset >= 0 { result[KafkaTopicPartition(topic, partition)] = offset }
      }
      return result
    }
  }

  // MARK: - Driving the state machine

  private func drive(_ first: GroupMemberStateMachine.Action) async throws {
    var action = first
    var backoff = client.configuration.retryBackoff
    while true {
      switch action {
      case .none:
        return
      case .assigned(let partitions):
        await onRebalance(.assigned(partitions))
        return
      case .fail(let reason):
        let error = KafkaClientError(.server, "group \(groupId): \(reason)")
        failure = error
        throw error
      case .revokeAndRejoin(let revoked):
        if !revoked.isEmpty { await onRebalance(.revoked(revoked)) }
        action = machine.rejoining()
      case .findCoordinator:
        await client.invalidateCoordinator(.group, key: groupId)
        return
      case .rejoinAfterBackoff:
        await client.invalidateCoordinator(.group, key: groupId)
        try await Task.sleep(for: backoff)
        backoff = min(backoff * 2, client.configuration.retryBackoffMax)
        action = machine.rejoining()
      case .sendJoin(let memberId):
        action = try await join(memberId: memberId)
      case .sendSync(let generation, let memberId, let protocolName, let members):
        action = try await sync(
          generation: generation, memberId: memberId, protocolName: protocolName, members: members)
      case .sendHeartbeat, .sendLeave:
        return
      }
    }
  }

  private func join(memberId: String) async throws -> GroupMemberStateMachine.Action {
    let subscription = ConsumerProtocolSubscription(topics: topics.sorted())
      .protocolMetadata(version: 0)
    let request = JoinGroupRequest(
      groupId: groupId, sessionTimeoutMs: sessionTimeout.milliseconds,
      rebalanceTimeoutMs: rebalanceTimeout.milliseconds, memberId: memberId,
      groupInstanceId: groupInstanceId, protocolType: "consumer",
      protocols: [.init(name: assignor.rawValue, metadata: subscription)], reason: nil)
    let response: JoinGroupResponse
    do {
      let connection = try await client.coordinator(.group, key: groupId)
      response = try await connection.send(request, extraTimeout: rebalanceTimeout)
    } catch let error as KafkaClientError where error.isRetriable {
      return .rejoinAfterBackoff
    }
    return machine.joinAnswered(
      errorCode: response.errorCode, memberId: response.memberId,
      generation: response.generationId, leader: response.leader,
      protocolName: response.protocolName,
      members: response.members.map { .init(memberId: $0.memberId, metadata: $0.metadata) })
  }

  private func sync(
    generation: Int32, memberId: String, protocolName: String,
    members: [GroupMemberStateMachine.Member]?
  ) async throws -> GroupMemberStateMachine.Action {
    var assignments: [SyncGroupRequest.SyncGroupRequestAssignment] = []
    if let members {
      assignments = try await computeAssignments(members, protocolName: protocolName)
    }
    let request = SyncGroupRequest(
      groupId: groupId, generationId: generation, memberId: memberId,
      groupInstanceId: groupInstanceId, protocolType: "consumer", protocolName: protocolName,
      assignments: assignments)
    let response: SyncGroupResponse
    do {
      let connection = try await client.coordinator(.group, key: groupId)
      response = try await connection.send(request, extraTimeout: rebalanceTimeout)
    } catch let error as KafkaClientError where error.isRetriable {
      return machine.syncAnswered(
        errorCode: KafkaErrorCode.coordinatorNotAvailable.rawValue, assignment: [])
    }
    var partitions: [KafkaTopicPartition] = []
    if response.errorCode == 0 {
      do {
        let assignment = try ConsumerProtocolAssignment(assignmentBytes: response.assignment)
        partitions = assignment.assignedPartitions.flatMap { topic in
          topic.partitions.map { KafkaTopicPartition(topic.topic, $0) }
        }
      } catch {
        throw KafkaClientError(.protocolViolation, "SyncGroup assignment: \(error)")
      }
    }
    return machine.syncAnswered(errorCode: response.errorCode, assignment: partitions)
  }

  private func computeAssignments(
    _ members: [GroupMemberStateMachine.Member], protocolName: String
  ) async throws -> [SyncGroupRequest.SyncGroupRequestAssignment] {
    var subscriptions: [String: Set<String>] = [:]
    for member in members {
      let subscription = try? ConsumerProtocolSubscription(protocolMetadata: member.metadata)
      subscriptions[member.memberId] = Set(subscription?.topics ?? [])
    }
    let allTopics = Array(Set(subscriptions.values.flatMap { $0 })).sorted()
    let metadata = try await client.metadata(topics: allTopics, refresh: true)
    var counts: [String: Int] = [:]
    for topic in allTopics { counts[topic] = metadata.partitionCount(of: topic) ?? 0 }
    let assignor = PartitionAssignor(rawValue: protocolName) ?? self.assignor
    let plan = assignor.assign(subscriptions: subscriptions, partitionCounts: counts)
    return plan.keys.sorted().map { member in
      let byTopic = Dictionary(grouping: plan[member]!, by: \.topic)
      let assignment = ConsumerProtocolAssignment(
        assignedPartitions: byTopic.keys.sorted().map {
          .init(topic: $0, partitions: byTopic[$0]!.map(\.partition).sorted())
        })
      return .init(memberId: member, assignment: assignment.assignmentBytes(version: 0))
    }
  }

  /// The subscribed topics' partition counts from fresh metadata (0 for a missing topic).
  private func partitionCounts() async throws -> [String: Int] {
    let metadata = try await client.metadata(topics: topics, refresh: true)
    return Dictionary(uniqueKeysWithValues: topics.map { ($0, metadata.partitionCount(of: $0) ?? 0) })
  }

  /// Rejoins when the subscribed topics' partitions changed since the member last looked.
  private func checkPartitionCounts() async throws {
    guard let counts = try? await partitionCounts(), counts != knownPartitionCounts else { return }
    knownPartitionCounts = counts
    try await drive(machine.partitionsChanged())
  }

  private func heartbeatLoop() async {
    var lastCheck = ContinuousClock.now
    while !Task.isCancelled {
      do {
        try await Task.sleep(for: heartbeatInterval)
      } catch { return }
      if ContinuousClock.now - lastCheck >= metadataCheckInterval {
        lastCheck = ContinuousClock.now
        do {
          try await checkPartitionCounts()
        } catch {
          failure = error as? KafkaClientError ?? KafkaClientError(.server, "\(error)")
          return
        }
      }
      guard case .sendHeartbeat(let generation, let memberId) = machine.heartbeatDue() else {
        continue
      }
      let request = HeartbeatRequest(
        groupId: groupId, generationId: generation, memberId: memberId,
        groupInstanceId: groupInstanceId)
      let code: Int16
      do {
        let connection = try await client.coordinator(.group, key: groupId)
        code = try await connection.send(request).errorCode
      } catch {
        await client.invalidateCoordinator(.group, key: groupId)
        continue
      }
      if Task.isCancelled { return }
      do {
        try await drive(machine.heartbeatAnswered(errorCode: code))
      } catch {
        failure = error as? KafkaClientError ?? KafkaClientError(.server, "\(error)")
        return
      }
    }
  }
}
