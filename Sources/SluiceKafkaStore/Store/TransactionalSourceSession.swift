import SluiceCore

/// The ``SourceSession`` of a Kafka cluster, as KIP-618 has Kafka Connect do it: one
/// transactional producer per source task (`transactional.id` = `<client id>-<connector>-<task>`)
/// writes each send's records and the connector's position — a record in the compacted offsets
/// topic, key `["<connector>",{}]`, value the position's text — in one transaction. A send
/// returns once the transaction is committed, so the upstream system is acknowledged only then;
/// on start the position is read back with read_committed.
///
/// Starting the producer fences every older producer of the same id (a zombie task of an
/// earlier generation): its open transaction is aborted and its next write fails.
public actor TransactionalSourceSession: SourceSession {
  private let store: KafkaTopicStore
  private let connector: String
  private let producer: KafkaProducer
  private var ready = false
  /// Whether a transaction is under way, and the writes waiting for it to end: the producer
  /// holds one transaction at a time, and the actor's awaits would otherwise let a second
  /// write (a webhook's concurrent requests) into the first one's transaction.
  private var writing = false
  private var waiting: [CheckedContinuation<Void, Never>] = []
  /// The connector's copies in the history topic, written once it asked for its history
  /// (``recentlyWritten(maxAgeMs:maxCount:nowMs:)``, at its start): connectors that never ask
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
        clientID: store.configuration.client.clientId, connector: connector, task: task))
  }

  /// Kafka Connect's shape for the task's transactional id, with Sluice's client id as the
  /// cluster's name.
  public static func transactionalID(clientID: String, connector: String, task: Int) -> String {
    "\(clientID)-\(connector)-\(task)"
  }

  /// The key of this connector's position in the offsets topic (Kafka Connect's key shape: the
  /// connector and a source partition, which Sluice's connectors do not split).
  var positionKey: [UInt8] { Array("[\"\(connector)\",{}]".utf8) }

  public func committedPosition() async throws -> SourcePosition? {
    try await start()
    let partition = try await positionPartition()
    let bounds = try await store.offsets(of: partition)
    var next = bounds.start
    var found: SourcePosition?
    while next < bounds.end {
      let records = try await store.read(
        from: partition, offset: next, maxRecords: 10_000, maxBytes: 8 << 20)
      guard let last = records.last else { break }
      for record in records where record.key == positionKey {
        found = record.value.map { SourcePosition(String(decoding: $0, as: UTF8.self)) }
      }
      next = last.offset + 1
    }
    return found
  }

  public func write(
    _ batches: [(TopicPartition, [OutgoingRecord])], committing position: SourcePosition?
  ) async throws -> [Int64] {
    await takeTurn()
    defer { endTurn() }
    try await start()
    let limit = store.maxRecordBytes
    for (_, records) in batches {
      for record in records {
        let size = (record.key?.count ?? 0) + (record.value?.count ?? 0)
        if size > limit { throw TopicStoreError.recordTooLarge(size: size, limit: limit) }
      }
    }
    var marker: (TopicPartition, [UInt8])?
    if let position { marker = (try await positionPartition(), Array(position.text.utf8)) }
    let historyPartition = keepsHistory && !batches.isEmpty ? try await history.partition() : nil
    return try await inTransaction {
      var bases: [Int64] = []
      var copies: [KafkaRecord] = []
      for (tp, records) in batches {
        let pieces = KafkaTopicStore.split(
          records.map(KafkaRecord.init), limit: limit + KafkaTopicStore.batchOverhead)
        var base: Int64?
        for piece in pieces {
          let offset = try await self.producer.send(piece, to: KafkaTopicPartition(tp))
          base = base ?? offset
          if historyPartition != nil {
            copies += piece.enumerated().map {
              self.history.copy(of: $0.element, at: tp, offset: offset + Int64($0.offset))
            }
          }
        }
        bases.append(base ?? -1)
      }
      if let historyPartition, !copies.isEmpty {
        for piece in KafkaTopicStore.split(copies, limit: limit + KafkaTopicStore.batchOverhead) {
          try await self.producer.send(piece, to: KafkaTopicPartition(historyPartition))
        }
      }
      if let (tp, value) = marker {
        let record = KafkaRecord(
          key: self.positionKey, value: value, headers: [], timestamp: currentTimeMillis())
        try await self.producer.send([record], to: KafkaTopicPartition(tp))
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
  public func recentlyWritten(maxAgeMs: Int64?, maxCount: Int?, nowMs: Int64) async throws
    -> WrittenRecords
  {
    keepsHistory = true
    do {
      return try await history.recent(maxAgeMs: maxAgeMs, maxCount: maxCount, nowMs: nowMs)
    } catch {
      throw KafkaTopicStore.translate(error)
    }
  }

  // MARK: - Internals

  private func takeTurn() async {
    if writing {
      await withCheckedContinuation { waiting.append($0) }
    } else {
      writing = true
    }
  }

  /// Hands the turn to the next waiting write (which then holds it), or frees it.
  private func endTurn() {
    if waiting.isEmpty {
      writing = false
    } else {
      waiting.removeFirst().resume()
    }
  }

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

extension KafkaTopicStore {
  /// Sources on Kafka write transactionally (``TransactionalSourceSession``); `offsets`, the
  /// worker's file, is not used.
  public func makeSourceSession(connector: String, task: Int, offsets: any OffsetStore)
    async throws -> any SourceSession
  {
    TransactionalSourceSession(store: self, connector: connector, task: task)
  }
}
