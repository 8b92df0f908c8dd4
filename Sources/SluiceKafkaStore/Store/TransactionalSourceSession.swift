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

  init(store: KafkaTopicStore, connector: String, task: Int) {
    self.store = store
    self.connector = connector
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
    return try await inTransaction {
      try await self.sendConcurrently(batches, marker: marker, limit: limit)
    }
  }

  public func commit(_ position: SourcePosition) async throws {
    _ = try await write([], committing: position)
  }

  /// Nothing waits: a position is committed with its transaction before `write` returns.
  public func flush() async throws {}

  // MARK: - Internals

  /// Writes `batches` and the position `marker` in the open transaction, each partition's
  /// batches in order and the partitions side by side (their AddPartitionsToTxn and Produce
  /// round trips overlap; the transaction's commit makes them visible together). Returns each
  /// batch's first offset (-1 for an empty one).
  private func sendConcurrently(
    _ batches: [(TopicPartition, [OutgoingRecord])], marker: (TopicPartition, [UInt8])?,
    limit: Int
  ) async throws -> [Int64] {
    // What goes to each partition, in order: batches (by index) and, last, the marker.
    var writes: [KafkaTopicPartition: [(index: Int?, records: [KafkaRecord])]] = [:]
    var order: [KafkaTopicPartition] = []
    func add(_ partition: TopicPartition, _ index: Int?, _ records: [KafkaRecord]) {
      let tp = KafkaTopicPartition(partition)
      if writes[tp] == nil { order.append(tp) }
      writes[tp, default: []].append((index, records))
    }
    for (index, (tp, records)) in batches.enumerated() {
      add(tp, index, records.map(KafkaRecord.init))
    }
    if let (tp, value) = marker {
      add(
        tp, nil,
        [KafkaRecord(key: positionKey, value: value, headers: [], timestamp: currentTimeMillis())])
    }
    let producer = self.producer
    let pieceLimit = limit + KafkaTopicStore.batchOverhead
    return try await withThrowingTaskGroup(of: [(Int, Int64)].self) { group in
      for tp in order {
        let queue = writes[tp]!
        group.addTask {
          var bases: [(Int, Int64)] = []
          for (index, records) in queue {
            var base: Int64?
            for piece in KafkaTopicStore.split(records, limit: pieceLimit) where !piece.isEmpty {
              let offset = try await producer.send(piece, to: tp)
              base = base ?? offset
            }
            if let index { bases.append((index, base ?? -1)) }
          }
          return bases
        }
      }
      var bases = [Int64](repeating: -1, count: batches.count)
      for try await written in group {
        for (index, base) in written { bases[index] = base }
      }
      return bases
    }
  }

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
