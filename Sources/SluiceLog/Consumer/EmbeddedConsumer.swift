import SluiceCore
import Synchronization

/// The embedded store's ``TopicConsumer``: reads the log directly, sleeps on the store's append
/// signal when caught up, shares a group's partitions through ``PartitionAssignment``, and keeps
/// the group's committed offsets in the worker's ``OffsetStore`` (the group is named for its
/// connector, as sink offsets always were).
///
/// Like a Kafka consumer it fetches ahead: once a poll returns records, the next batch is read
/// in the background from where they end, so the log and the caller's delivery overlap.
actor EmbeddedConsumer: TopicConsumer {
  private let store: EmbeddedTopicStore
  private let group: String?
  private let member: String
  private var topics: [String]?
  private var positions: [TopicPartition: Int64] = [:]
  private var rotation = 0
  /// The batch read ahead, valid while `generation` (bumped by seeks and changes) is unchanged.
  private var readAhead: (generation: Int, task: Task<Fetched, any Error>)?
  private var generation = 0
  /// Partitions a change gave us that have no position yet: they start at the committed offset.
  private var unpositioned: Set<TopicPartition> = []

  init(store: EmbeddedTopicStore, group: String?, member: String) {
    self.store = store
    self.group = group
    self.member = member
  }

  func assign(_ partitions: [TopicPartition]) {
    positions = positions.filter { partitions.contains($0.key) }
    for tp in partitions where positions[tp] == nil { unpositioned.insert(tp) }
    invalidateReadAhead()
  }

  func subscribe(_ topics: [String]) throws {
    guard let group else {
      throw TopicStoreError.invalidRecord("a consumer without a group cannot subscribe")
    }
    self.topics = topics
    store.groups.withLock { $0[group, default: PartitionAssignment()].join(member, topics: topics) }
    // Members asleep in a poll learn at once that the partitions are shared anew.
    store.wakeReaders()
  }

  func seek(_ partition: TopicPartition, to offset: Int64) {
    positions[partition] = offset
    unpositioned.remove(partition)
    invalidateReadAhead()
  }

  func poll(maxRecords: Int, maxBytes: Int, timeout: Duration) async throws -> ConsumerPoll {
    let deadline = ContinuousClock.now + timeout
    while true {
      if let change = try await groupChange() { return change }
      try await positionNewPartitions()
      let version = store.signal.version
      let fetched = try await fetch(maxRecords: maxRecords, maxBytes: maxBytes)
      if !fetched.records.isEmpty || !fetched.skipped.isEmpty || ContinuousClock.now >= deadline {
        return ConsumerPoll(records: fetched.records, skipped: fetched.skipped)
      }
      // At most a second asleep, so a rebalance is noticed while idle.
      _ = await store.signal.wait(
        after: version, timeout: min(deadline - ContinuousClock.now, .seconds(1)))
    }
  }

  func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    guard let group else { return [:] }
    let all = try await store.groupOffsets.sinkOffsets(connector: group)
    return all.filter { partitions.contains($0.key) }
  }

  func commit(_ offsets: [TopicPartition: Int64]) async throws {
    guard let group, !offsets.isEmpty else { return }
    try await store.groupOffsets.commitSinkOffsets(offsets, connector: group)
  }

  func close() {
    invalidateReadAhead()
    if let group, topics != nil {
      store.groups.withLock { $0[group]?.leave(member) }
      store.wakeReaders()
    }
    topics = nil
  }

  // MARK: - Group

  /// The change of this member's partitions since its last poll, if any; acknowledges the
  /// revocation reported last time (the caller has finished with those partitions).
  private func groupChange() async throws -> ConsumerPoll? {
    guard let group, let topics else { return nil }
    var partitions: [TopicPartition] = []
    for topic in topics {
      guard let count = try await store.partitionCount(of: topic) else { continue }
      for p in 0..<count { partitions.append(TopicPartition(topic, p)) }
    }
    let member = self.member
    let change = store.groups.withLock {
      $0[group, default: PartitionAssignment()].poll(member, partitions: partitions)
    }
    if !change.released.isEmpty { store.wakeReaders() }
    guard !change.isEmpty else { return nil }
    for tp in change.revoked {
      positions[tp] = nil
      unpositioned.remove(tp)
    }
    for tp in change.assigned { unpositioned.insert(tp) }
    invalidateReadAhead()
    return ConsumerPoll(revoked: change.revoked, assigned: change.assigned)
  }

  private func positionNewPartitions() async throws {
    guard !unpositioned.isEmpty else { return }
    let new = unpositioned.sorted()
    let committed = try await committed(new)
    for tp in new {
      let start = try await store.offsets(of: tp).start
      positions[tp] = max(committed[tp] ?? start, start)
    }
    unpositioned = []
  }

  // MARK: - Reading

  struct Fetched: Sendable {
    var records: [Record] = []
    var skipped: [(partition: TopicPartition, from: Int64, to: Int64)] = []
    var positions: [TopicPartition: Int64]
  }

  private func invalidateReadAhead() {
    readAhead?.task.cancel()
    readAhead = nil
    generation += 1
  }

  /// The batch read ahead if it is still valid, else a fresh read; then starts the next one.
  private func fetch(maxRecords: Int, maxBytes: Int) async throws -> Fetched {
    var fetched: Fetched?
    if let ahead = readAhead, ahead.generation == generation {
      readAhead = nil
      fetched = try? await ahead.task.value
    }
    rotation += 1
    let result: Fetched
    if let fetched {
      result = fetched
    } else {
      result = try await Self.read(
        store, from: positions, rotation: rotation, limit: maxRecords, maxBytes: maxBytes)
    }
    positions = result.positions
    if !result.records.isEmpty {
      let (store, from, turn) = (self.store, positions, rotation + 1)
      readAhead = (
        generation,
        Task {
          try await Self.read(
            store, from: from, rotation: turn, limit: maxRecords, maxBytes: maxBytes)
        }
      )
    }
    return result
  }

  /// Up to `limit` records and about `maxBytes` from `positions`, partitions taken in turn from
  /// `rotation`; a position below the partition's start moves there and is reported.
  static func read(
    _ store: EmbeddedTopicStore, from positions: [TopicPartition: Int64], rotation: Int,
    limit: Int, maxBytes: Int
  ) async throws -> Fetched {
    var fetched = Fetched(positions: positions)
    let order = positions.keys.sorted()
    var bytes = 0
    for i in 0..<order.count where fetched.records.count < limit && bytes < maxBytes {
      let tp = order[(rotation + i) % order.count]
      let from = positions[tp]!
      do {
        let records = try await store.read(
          from: tp, offset: from, maxRecords: limit - fetched.records.count,
          maxBytes: maxBytes - bytes)
        if let last = records.last { fetched.positions[tp] = last.offset + 1 }
        fetched.records += records
        bytes += records.reduce(0) { $0 + ($1.value?.count ?? 0) + ($1.key?.count ?? 0) }
      } catch TopicStoreError.offsetOutOfRange(_, _, let start, _) {
        fetched.skipped.append((tp, from, start))
        fetched.positions[tp] = start
      }
    }
    return fetched
  }
}
