import SluiceCore

/// The Kafka store's ``TopicConsumer``: with a group, a ``ConsumerGroupMember`` of its own
/// (on a ``KafkaClient`` of its own, since a held JoinGroup blocks its client's coordinator
/// connection) whose assignments and revocations come out of ``poll(maxRecords:maxBytes:timeout:)``;
/// records are read_committed fetches from the positions the caller seeks to (else the
/// group's committed offset, else the earliest offset); commits are OffsetCommit in the group.
/// Without a group (``assign(_:)``) it only fetches.
///
/// Rebalancing is eager: a revocation holds the member until the caller's next poll (the caller
/// commits and closes the revoked partitions first), and only then does the member rejoin.
public actor KafkaConsumer: TopicConsumer {
  private let store: KafkaTopicStore
  /// The Kafka group id (`connect-<connector>`), nil for a hand-assigned consumer.
  public nonisolated let groupId: String?
  /// The member's name within its group (a task index).
  public nonisolated let member: String
  private let client: KafkaClient
  private let ownsClient: Bool
  private var joining: Task<Void, Never>?
  private var joinFailure: (any Error)?
  /// Rebalance events not yet handed to the caller, in order.
  private var pending: [RebalanceEvent] = []
  /// The member waiting for the caller to finish with revoked partitions.
  private var revocationDone: CheckedContinuation<Void, Never>?
  private var closing = false
  private var positions: [KafkaTopicPartition: Int64] = [:]
  /// Partitions given without a position yet: they start at the committed offset.
  private var unpositioned: Set<KafkaTopicPartition> = []
  /// Records fetched beyond what a poll could return, handed out by the next poll.
  private var buffered: [Record] = []
  private var rotation = 0

  init(store: KafkaTopicStore, groupId: String?, member: String) {
    self.store = store
    self.groupId = groupId
    self.member = member
    if let groupId {
      var configuration = store.configuration.client
      configuration.clientId += "-\(groupId)-\(member)"
      client = KafkaClient(configuration: configuration, logger: store.logger)
      ownsClient = true
    } else {
      client = store.client
      ownsClient = false
    }
  }

  /// The group member, made by ``subscribe(_:)`` (it calls back into this consumer). Before
  /// that, commits and OffsetFetch go out as a standalone consumer's.
  private var memberHandle: ConsumerGroupMember?

  private func makeMember(for topics: [String]) -> ConsumerGroupMember? {
    guard let groupId else { return nil }
    if let memberHandle, memberHandle.topics == topics { return memberHandle }
    let handle = ConsumerGroupMember(
      client: client, groupId: groupId, topics: topics,
      onRebalance: { [weak self] event in await self?.rebalanced(event) })
    memberHandle = handle
    return handle
  }

  // MARK: - TopicConsumer

  public func assign(_ partitions: [TopicPartition]) {
    let wanted = Set(partitions.map(KafkaTopicPartition.init))
    positions = positions.filter { wanted.contains($0.key) }
    unpositioned = unpositioned.intersection(wanted)
    for tp in wanted where positions[tp] == nil { unpositioned.insert(tp) }
    buffered.removeAll { !wanted.contains(KafkaTopicPartition($0.topicPartition)) }
  }

  public func subscribe(_ topics: [String]) async throws {
    guard groupId != nil else {
      throw TopicStoreError.invalidRecord("a consumer without a group cannot subscribe")
    }
    // A group's leader assigns the partitions the metadata shows: a topic that does not exist
    // yet would get none, and no rebalance follows its creation. Make them now.
    for topic in topics { _ = try await store.ensureTopic(topic) }
    guard let member = makeMember(for: topics.sorted()) else { return }
    joining = Task { [weak self] in
      do {
        try await member.join()
      } catch {
        await self?.joinFailed(error)
      }
    }
  }

  public func seek(_ partition: TopicPartition, to offset: Int64) {
    let tp = KafkaTopicPartition(partition)
    positions[tp] = offset
    unpositioned.remove(tp)
    buffered.removeAll { $0.topic == partition.topic && $0.partition == partition.partition }
  }

  public func poll(maxRecords: Int, maxBytes: Int, timeout: Duration) async throws -> ConsumerPoll {
    // The caller has finished with what the last poll revoked: the member may rejoin.
    revocationDone?.resume()
    revocationDone = nil
    let deadline = ContinuousClock.now + timeout
    // Fetches past the deadline that only moved positions (over transaction markers or aborted
    // batches): a few, so records behind them are not taken for an empty partition.
    var lateRounds = 0
    while true {
      if let change = takeChange() { return change }
      try await checkMember()
      if !buffered.isEmpty { return ConsumerPoll(records: takeBuffered(maxRecords)) }
      try await positionNewPartitions()
      let remaining = deadline - ContinuousClock.now
      if positions.isEmpty {
        if remaining <= .zero { return ConsumerPoll() }
        try await Task.sleep(for: min(remaining, .milliseconds(50)))
        continue
      }
      // Every fetch may wait a little: a broker may answer one that must not wait with nothing
      // even when records are there (Tansu does); with minBytes 1 it answers as soon as any are.
      let wait = min(max(remaining, .milliseconds(100)), .milliseconds(500))
      let before = positions
      let (records, skipped) = try await fetch(maxBytes: maxBytes, wait: wait)
      buffered += records
      if !buffered.isEmpty || !skipped.isEmpty {
        return ConsumerPoll(records: takeBuffered(maxRecords), skipped: skipped)
      }
      if ContinuousClock.now >= deadline {
        if positions == before || lateRounds >= 8 { return ConsumerPoll() }
        lateRounds += 1
      }
    }
  }

  public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    guard let groupId, !partitions.isEmpty else { return [:] }
    do {
      let member = memberHandle ?? ConsumerGroupMember(client: client, groupId: groupId, topics: [])
      let offsets = try await member.committed(partitions.map(KafkaTopicPartition.init))
      return Dictionary(uniqueKeysWithValues: offsets.map { (TopicPartition($0.key), $0.value) })
    } catch {
      throw KafkaTopicStore.translate(error)
    }
  }

  public func commit(_ offsets: [TopicPartition: Int64]) async throws {
    guard let groupId, !offsets.isEmpty else { return }
    do {
      let member = memberHandle ?? ConsumerGroupMember(client: client, groupId: groupId, topics: [])
      try await member.commit(
        Dictionary(uniqueKeysWithValues: offsets.map { (KafkaTopicPartition($0.key), $0.value) }))
    } catch {
      throw KafkaTopicStore.translate(error)
    }
  }

  public func close() async {
    closing = true
    revocationDone?.resume()
    revocationDone = nil
    joining?.cancel()
    if let memberHandle { await memberHandle.leave() }
    memberHandle = nil
    positions = [:]
    buffered = []
    if ownsClient { await client.close() }
  }

  // MARK: - Group events

  /// The member's callback: queue the event; a revocation waits until the caller has seen it
  /// and polled again (or the consumer closes).
  private func rebalanced(_ event: RebalanceEvent) async {
    guard !closing else { return }
    pending.append(event)
    if case .revoked = event {
      await withCheckedContinuation { revocationDone = $0 }
    }
  }

  private func joinFailed(_ error: any Error) {
    if !closing { joinFailure = error }
  }

  /// The queued change of partitions, applied: a revocation alone (the member waits on it),
  /// else every assignment queued.
  private func takeChange() -> ConsumerPoll? {
    guard let first = pending.first else { return nil }
    if case .revoked(let partitions) = first {
      pending.removeFirst()
      for tp in partitions {
        positions[tp] = nil
        unpositioned.remove(tp)
      }
      let gone = Set(partitions)
      buffered.removeAll { gone.contains(KafkaTopicPartition($0.topicPartition)) }
      return ConsumerPoll(revoked: partitions.map(TopicPartition.init))
    }
    var assigned: [KafkaTopicPartition] = []
    while case .assigned(let partitions) = pending.first {
      pending.removeFirst()
      assigned += partitions
    }
    for tp in assigned where positions[tp] == nil { unpositioned.insert(tp) }
    return ConsumerPoll(assigned: assigned.sorted().map(TopicPartition.init))
  }

  /// Throws when the member's join or heartbeats ended it.
  private func checkMember() async throws {
    if let joinFailure {
      self.joinFailure = nil
      throw KafkaTopicStore.translate(joinFailure)
    }
    if let memberHandle, let failure = await memberHandle.failure {
      throw KafkaTopicStore.translate(failure)
    }
  }

  // MARK: - Reading

  private func positionNewPartitions() async throws {
    guard !unpositioned.isEmpty else { return }
    let new = unpositioned.sorted()
    do {
      let committed = try await committed(new.map(TopicPartition.init))
      let missing = new.filter { committed[TopicPartition($0)] == nil }
      let earliest = try await client.listOffsets(missing, at: .earliest)
      for tp in new where unpositioned.contains(tp) {
        positions[tp] = committed[TopicPartition(tp)] ?? earliest[tp] ?? 0
      }
      unpositioned.subtract(new)
    } catch {
      throw KafkaTopicStore.translate(error)
    }
  }

  private func takeBuffered(_ maxRecords: Int) -> [Record] {
    let count = min(max(1, maxRecords), buffered.count)
    defer { buffered.removeFirst(count) }
    return Array(buffered.prefix(count))
  }

  /// One fetch of every positioned partition, waiting up to `wait` for records; positions move
  /// past what came. A position below a partition's start moves there and is reported.
  private func fetch(maxBytes: Int, wait: Duration) async throws -> (
    [Record], [(partition: TopicPartition, from: Int64, to: Int64)]
  ) {
    let asked = positions
    let fetcher = KafkaFetcher(
      client: client, isolation: .readCommitted, maxWait: wait,
      maxBytes: Int32(clamping: max(maxBytes, 1)),
      partitionMaxBytes: Int32(clamping: max(maxBytes / max(asked.count, 1), 64 << 10)))
    let fetched: [KafkaTopicPartition: PartitionFetch]
    do {
      fetched = try await fetcher.fetch(asked)
    } catch let error as KafkaClientError where error.kind == .offsetOutOfRange {
      return ([], try await resetOutOfRange(asked))
    } catch {
      throw KafkaTopicStore.translate(error)
    }
    rotation += 1
    let order = asked.keys.sorted()
    var records: [Record] = []
    for i in 0..<order.count {
      let tp = order[(rotation + i) % order.count]
      guard let result = fetched[tp], positions[tp] == asked[tp] else { continue }
      positions[tp] = result.nextOffset
      let partition = TopicPartition(tp)
      records += result.records.map { Record($0, of: partition) }
    }
    return (records, [])
  }

  /// After OFFSET_OUT_OF_RANGE: each position below its partition's start moves to the start
  /// (reported), each past its end moves to the end.
  private func resetOutOfRange(_ asked: [KafkaTopicPartition: Int64]) async throws -> [(
    partition: TopicPartition, from: Int64, to: Int64
  )] {
    let bounds: [KafkaTopicPartition: PartitionOffsets]
    do {
      bounds = try await store.endsOf(Array(asked.keys))
    } catch {
      throw KafkaTopicStore.translate(error)
    }
    var skipped: [(partition: TopicPartition, from: Int64, to: Int64)] = []
    for (tp, position) in asked {
      guard let range = bounds[tp], positions[tp] == position else { continue }
      if position < range.start {
        positions[tp] = range.start
        skipped.append((TopicPartition(tp), position, range.start))
      } else if position > range.end {
        positions[tp] = range.end
      }
    }
    return skipped
  }
}
