import SluiceCore

/// The ``SourceSession`` of a Kafka cluster, as KIP-618 has Kafka Connect do it: one
/// transactional producer per source task (`transactional.id` = `<client id>-<connector>-<task>`)
/// writes each send's records and the connector's position — a record in the compacted offsets
/// topic, key `["<connector>",{}]`, value the position's text — in one transaction. A send
/// returns once the transaction is committed, so the upstream system is acknowledged only then;
/// on start the position is read back with read_committed. Sends that come while a transaction
/// is under way share the next one.
///
/// Starting the producer fences every older producer of the same id (a zombie task of an
/// earlier generation): its open transaction is aborted and its next write fails.
public actor TransactionalSourceSession: SourceSession {
  private let store: KafkaTopicStore
  private let connector: String
  private let producer: KafkaProducer
  private var ready = false
  /// Whether a transaction is under way, and the writes waiting for it to end: the producer
  /// holds one transaction at a time, so writes that come meanwhile (a webhook's concurrent
  /// requests) wait, and then go together in the next one.
  private var writing = false
  private var pending: [PendingWrite] = []
  /// When the last transaction ended: the next one waits for the store's linger after it.
  private var lastCommit: ContinuousClock.Instant?
  /// Records waiting that make the next transaction start without lingering.
  static let lingerSkipRecords = 1000
  /// A transaction's share of pending writes at most, so one stays a bounded request.
  static let maxWritesPerTransaction = 1000
  /// The connector's copies in the history topic, written once it asked for its history
  /// (``recentlyWritten(maxAge:maxCount:nowMs:)``, at its start): connectors that never ask
  /// (CDC, file) do not pay for them.
  private let history: SourceHistoryTopic
  private var keepsHistory = false

  init(store: KafkaTopicStore, connector: String, task: Int) {
    self.store = store
    self.connector = connector
    history = SourceHistoryTopic(store: store, connector: connector)
    producer = KafkaProducer(
      client: store.client,
      transactionalId: Self.transactionalID(
        clientID: store.configuration.client.clientId, connector: connector, task: task),
      compression: store.configuration.compression)
  }

  /// Kafka Connect's shape for the task's transactional id, with Sluice's client id as the
  /// cluster's name.
  public static func transactionalID(clientID: String, connector: String, task: Int) -> String {
    "\(clientID)-\(connector)-\(task)"
  }

  /// The key of this connector's position in the offsets topic (Kafka Connect's key shape: the
  /// connector and a source partition, which Sluice's connectors do not split).
  var positionKey: [UInt8] { Self.positionKey(connector: connector) }

  static func positionKey(connector: String) -> [UInt8] {
    // Kafka Connect's JSON converter escapes the name; so does the writer.
    Array("[\(JSONWriter.quoted(connector)),{}]".utf8)
  }

  /// Read after starting the producer: an earlier generation's open transaction is aborted
  /// first, so what is read is all there is.
  public func committedPosition() async throws -> SourcePosition? {
    try await start()
    return try await store.readSourcePosition(connector: connector)
  }

  /// A tombstone for the position, in a transaction: ``committedPosition()`` is nil after it.
  public func resetPosition() async throws {
    try await start()
    let tombstone = KafkaRecord(
      key: positionKey, value: nil, headers: [], timestamp: currentTimeMillis())
    let partition = try await positionPartition()
    let producer = self.producer
    _ = try await inTransaction {
      try await producer.send([tombstone], to: KafkaTopicPartition(partition))
    }
  }

  public func write(
    _ batches: [(TopicPartition, [OutgoingRecord])], committing position: SourcePosition?
  ) async throws -> [Int64] {
    let limit = store.maxRecordBytes
    for (_, records) in batches {
      for record in records {
        let size = (record.key?.count ?? 0) + (record.value?.count ?? 0)
        if size > limit { throw TopicStoreError.recordTooLarge(size: size, limit: limit) }
      }
    }
    return try await withCheckedThrowingContinuation { continuation in
      pending.append(PendingWrite(batches: batches, position: position, done: continuation))
      if !writing {
        writing = true
        Task { await self.writePending() }
      }
    }
  }

  /// Writes what is pending, a group at a time, each group in one transaction, until nothing
  /// is: concurrent sends (a webhook's requests) share a transaction instead of each waiting
  /// for a transaction of its own.
  private func writePending() async {
    while !pending.isEmpty {
      // Sends that come during the linger join this transaction: fewer, larger transactions
      // (each costs the cluster markers and coordinator round trips) for a few milliseconds.
      // A backlog (a full batch waiting) goes at once, as a Kafka producer's full batch does.
      let waiting = pending.reduce(0) { $0 + $1.batches.reduce(0) { $0 + $1.1.count } }
      if let lastCommit, waiting < Self.lingerSkipRecords {
        let wait = store.configuration.linger - (ContinuousClock.now - lastCommit)
        if wait > .zero { try? await Task.sleep(for: wait) }
      }
      let group = Array(pending.prefix(Self.maxWritesPerTransaction))
      pending.removeFirst(group.count)
      do {
        let bases = try await writeInOneTransaction(group)
        lastCommit = ContinuousClock.now
        for (write, bases) in zip(group, bases) { write.done.resume(returning: bases) }
      } catch {
        for write in group { write.done.resume(throwing: error) }
      }
    }
    writing = false
  }

  /// The writes' records, their copies in the history topic and the newest of their positions,
  /// in one transaction; each write's base offsets. Records of several writes to one partition
  /// go in one produce request, and the partitions are written side by side.
  private func writeInOneTransaction(_ group: [PendingWrite]) async throws -> [[Int64]] {
    try await start()
    let limit = store.maxRecordBytes + KafkaTopicStore.batchOverhead
    // The newest position covers every write before it.
    var positionRecord: (TopicPartition, KafkaRecord)?
    if let position = group.last(where: { $0.position != nil })?.position {
      positionRecord = (
        try await positionPartition(),
        KafkaRecord(
          key: positionKey, value: Array(position.text.utf8), headers: [],
          timestamp: currentTimeMillis())
      )
    }
    let hasRecords = group.contains { $0.batches.contains { !$1.isEmpty } }
    let historyPartition = keepsHistory && hasRecords ? try await history.partition() : nil
    // Each partition's records in write order, each remembering whose batch it belongs to.
    var order: [TopicPartition] = []
    var byPartition: [TopicPartition: [(owner: BatchIndex, record: KafkaRecord)]] = [:]
    for (w, write) in group.enumerated() {
      for (b, (tp, records)) in write.batches.enumerated() {
        if byPartition[tp] == nil { order.append(tp) }
        byPartition[tp, default: []] += records.map { (BatchIndex(write: w, batch: b), KafkaRecord($0)) }
      }
    }
    let producer = self.producer
    let history = self.history
    return try await inTransaction {
      // The partitions side by side (their AddPartitionsToTxn and Produce round trips overlap;
      // the commit makes them visible together), each partition's pieces in order.
      let placed = try await withThrowingTaskGroup(
        of: (data: [(BatchIndex, Int64)], copies: [KafkaRecord]).self
      ) { tasks in
        for tp in order {
          let entries = byPartition[tp] ?? []
          tasks.addTask {
            var bases: [(BatchIndex, Int64)] = []
            var copies: [KafkaRecord] = []
            var start = 0
            for piece in KafkaTopicStore.split(entries.map(\.record), limit: limit) {
              let offset = try await producer.send(piece, to: KafkaTopicPartition(tp))
              for (i, record) in piece.enumerated() {
                bases.append((entries[start + i].owner, offset + Int64(i)))
                if historyPartition != nil {
                  copies.append(history.copy(of: record, at: tp, offset: offset + Int64(i)))
                }
              }
              start += piece.count
            }
            return (bases, copies)
          }
        }
        if let (tp, record) = positionRecord {
          tasks.addTask {
            try await producer.send([record], to: KafkaTopicPartition(tp))
            return ([], [])
          }
        }
        return try await tasks.reduce(into: (data: [(BatchIndex, Int64)](), copies: [KafkaRecord]())) {
          $0.data += $1.data
          $0.copies += $1.copies
        }
      }
      // Copies name the offsets their originals got, so they go once those are known.
      if let historyPartition, !placed.copies.isEmpty {
        for piece in KafkaTopicStore.split(placed.copies, limit: limit) {
          try await producer.send(piece, to: KafkaTopicPartition(historyPartition))
        }
      }
      // Each batch's base: the offset of its first record.
      var bases = group.map { [Int64](repeating: -1, count: $0.batches.count) }
      for (owner, offset) in placed.data where bases[owner.write][owner.batch] < 0 {
        bases[owner.write][owner.batch] = offset
      }
      return bases
    }
  }

  public func commit(_ position: SourcePosition) async throws {
    _ = try await write([], committing: position)
  }

  /// Nothing waits: a position is committed with its transaction before `write` returns.
  public func flush() async throws {}

  /// From the history topic (``SourceHistoryTopic``); from now on this session keeps copies
  /// of what it writes there.
  public func recentlyWritten(maxAge: Duration?, maxCount: Int?, nowMs: Int64) async throws
    -> WrittenRecords
  {
    keepsHistory = true
    do {
      return try await history.recent(maxAge: maxAge, maxCount: maxCount, nowMs: nowMs)
    } catch {
      throw KafkaTopicStore.translate(error)
    }
  }

  // MARK: - Internals

  /// Initializes the transactional producer once (fencing older generations of this task).
  private func start() async throws {
    guard !ready else { return }
    do {
      try await producer.initialize()
    } catch {
      throw KafkaTopicStore.translate(error)
    }
    ready = true
  }

  /// Runs `body` in a transaction, committing it if `body` returns and aborting it if it throws;
  /// a fenced producer is not used again (the task fails and its successor starts a new one).
  private func inTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    do {
      try await producer.beginTransaction()
      let result = try await body()
      try await producer.commitTransaction()
      return result
    } catch {
      if let kafka = error as? KafkaClientError, kafka.kind == .fenced {
        ready = false
      } else {
        try? await producer.abortTransaction()
      }
      throw KafkaTopicStore.translate(error)
    }
  }

  private func positionPartition() async throws -> TopicPartition {
    let topic = store.configuration.offsetsTopic
    let count = try await store.partitionCount(of: topic) ?? 1
    return TopicPartition(topic, Partitioner.partition(forKey: positionKey, partitions: count))
  }
}

/// A ``TransactionalSourceSession/write(_:committing:)`` waiting for its transaction.
private struct PendingWrite {
  var batches: [(TopicPartition, [OutgoingRecord])]
  var position: SourcePosition?
  var done: CheckedContinuation<[Int64], any Error>
}

/// Which write of a group, and which of its batches, a record belongs to.
private struct BatchIndex {
  var write: Int
  var batch: Int
}

extension KafkaTopicStore {
  /// The connector's last position in the offsets topic (read committed; nil after a
  /// tombstone), without a producer: reading does not fence a running task.
  func readSourcePosition(connector: String) async throws -> SourcePosition? {
    let key = TransactionalSourceSession.positionKey(connector: connector)
    let topic = configuration.offsetsTopic
    let count = try await partitionCount(of: topic) ?? 1
    let partition = TopicPartition(topic, Partitioner.partition(forKey: key, partitions: count))
    let bounds = try await offsets(of: partition)
    var next = bounds.start
    var found: SourcePosition?
    while next < bounds.end {
      let records = try await read(
        from: partition, offset: next, maxRecords: 10_000, maxBytes: 8 << 20)
      guard let last = records.last else { break }
      for record in records where record.key == key {
        found = record.value.map { SourcePosition(String(decoding: $0, as: UTF8.self)) }
      }
      next = last.offset + 1
    }
    return found
  }

  /// Read-only, for the admin API while the connector may run (``readSourcePosition(connector:)``).
  public func committedSourcePosition(connector: String, offsets: any OffsetStore) async throws
    -> SourcePosition?
  {
    try await readSourcePosition(connector: connector)
  }

  /// Sources on Kafka write transactionally (``TransactionalSourceSession``); `offsets`, the
  /// worker's file, is not used.
  public func makeSourceSession(connector: String, task: Int, offsets: any OffsetStore)
    async throws -> any SourceSession
  {
    TransactionalSourceSession(store: self, connector: connector, task: task)
  }
}
