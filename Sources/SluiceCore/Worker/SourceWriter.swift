import Logging

/// Header names the runtime adds to the last record of every batch a source writes to a
/// partition, so that after a crash it can tell how far that partition durably got.
public enum SourceHeaders {
  public static let connector = "sluice.source"
  public static let position = "sluice.position"
}

/// The ``SourceTaskContext`` a source task writes through: routes records to partitions,
/// drops records already durable (by position), appends, and commits the source position.
///
/// Exactly-once for sources rests here (DESIGN.md §3): the position is committed only after every
/// record up to it is durable, and on restart records whose position is not past the last one
/// durably in their partition are dropped.
///
/// The position of a send is written in the background (``PositionCommitter``), so a send
/// waits for its records' fsync but not for the offsets file's two: a crash may leave the
/// committed position a few sends behind, which is safe by the rule above.
final class SourceWriter: SourceTaskContext {
  let connectorName: String
  let taskIndex: Int
  let logger: Logger
  let committedPosition: SourcePosition?

  let store: any TopicStore
  private let offsets: any OffsetStore
  private let status: StatusBoard
  private let producer: Producer
  private let state = State()
  private let committer: PositionCommitter
  private let history: SourceHistory

  init(
    connector: String, taskIndex: Int, store: any TopicStore, offsets: any OffsetStore,
    status: StatusBoard, logger: Logger, committedPosition: SourcePosition?
  ) {
    self.connectorName = connector
    self.taskIndex = taskIndex
    self.store = store
    self.producer = Producer(store: store)
    self.offsets = offsets
    self.status = status
    self.logger = logger
    self.committedPosition = committedPosition
    self.committer = PositionCommitter(offsets: offsets, connector: connector)
    self.history = SourceHistory(store: store, connector: connector)
  }

  func setDetail(_ name: String, _ value: String?) {
    status.updateTask(connectorName, taskIndex) { $0.details[name] = value }
  }

  func send(_ records: [SourceRecord]) async throws -> [RecordMetadata] {
    guard !records.isEmpty else { return [] }

    let results = try await producer.send(records) { batch, tp in
      try await self.append(batch, to: tp)
    }

    // Everything up to the last position of this send is durable: commit it.
    if let last = records.last(where: { $0.position != nil })?.position {
      try await committer.schedule(last)
    }
    return results
  }

  func commit(_ position: SourcePosition) async throws {
    try await committer.schedule(position)
    try await committer.flush()
  }

  /// Waits until every position committed so far is written (a task that stops or fails,
  /// before the next one reads the committed position).
  func flushCommits() async throws {
    try await committer.flush()
  }

  func lastDurablePosition(in partition: TopicPartition) async throws -> SourcePosition? {
    try await lastDurablePosition(partition)
  }

  func recentlyWritten(maxAgeMs: Int64?, maxCount: Int?) async throws -> WrittenRecords {
    try await history.recent(maxAgeMs: maxAgeMs, maxCount: maxCount, nowMs: currentTimeMillis())
  }

  /// Appends one partition's share of a send, without the records it already holds.
  private func append(_ batch: [(index: Int, record: SourceRecord)], to tp: TopicPartition)
    async throws
    -> [(Int, RecordMetadata)]
  {
    let hasPositions = batch.contains { $0.record.position != nil }
    let durable = hasPositions ? try await lastDurablePosition(tp) : nil
    var placed: [(Int, RecordMetadata)] = []
    var outgoing: [OutgoingRecord] = []
    var indexes: [Int] = []
    for (index, record) in batch {
      if let position = record.position, let durable, position <= durable {
        placed.append((index, RecordMetadata(topic: tp.topic, partition: tp.partition, offset: -1)))
        continue
      }
      outgoing.append(
        OutgoingRecord(
          timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers
        ))
      indexes.append(index)
    }
    if outgoing.isEmpty { return placed }
    let lastPosition = batch.last(where: { $0.record.position != nil })?.record.position
    if let lastPosition {
      outgoing[outgoing.count - 1].headers += [
        RecordHeader(SourceHeaders.connector, connectorName),
        RecordHeader(SourceHeaders.position, lastPosition.text),
      ]
    }
    let base = try await store.append(outgoing, to: tp)
    if let lastPosition { await state.advance(tp, to: lastPosition) }
    for (i, index) in indexes.enumerated() {
      placed.append(
        (index, RecordMetadata(topic: tp.topic, partition: tp.partition, offset: base + Int64(i))))
    }
    return placed
  }

  /// The position of the last record this connector durably wrote to `tp`, found once in the
  /// ``SourceHistory`` and then kept up to date in memory.
  private func lastDurablePosition(_ tp: TopicPartition) async throws -> SourcePosition? {
    if let known = await state.position(tp) { return known }
    let found = try await history.lastPosition(in: tp)
    await state.learn(tp, found)
    return found
  }

  /// Writes committed positions one at a time, always the newest scheduled one: a send does
  /// not wait for the offsets file, and the file never goes back to an older position. A failed
  /// write is thrown by the next ``schedule(_:)`` or ``flush()``.
  private actor PositionCommitter {
    private let offsets: any OffsetStore
    private let connector: String
    private var pending: SourcePosition?
    private var writing: Task<Void, Never>?
    private var failure: (any Error)?

    init(offsets: any OffsetStore, connector: String) {
      self.offsets = offsets
      self.connector = connector
    }

    func schedule(_ position: SourcePosition) throws {
      if let failure {
        self.failure = nil
        throw failure
      }
      pending = position
      if writing == nil { writing = Task { await self.drain() } }
    }

    func flush() async throws {
      while let writing { await writing.value }
      if let failure {
        self.failure = nil
        throw failure
      }
    }

    private func drain() async {
      while let next = pending {
        pending = nil
        do {
          try await offsets.commitSourcePosition(next, connector: connector)
        } catch {
          failure = error
        }
      }
      writing = nil
    }
  }

  /// Positions per partition; `.some(nil)` means "scanned, nothing there".
  private actor State {
    private var positions: [TopicPartition: SourcePosition?] = [:]

    func position(_ tp: TopicPartition) -> SourcePosition?? { positions[tp] }

    func learn(_ tp: TopicPartition, _ position: SourcePosition?) {
      if positions[tp] == nil { positions[tp] = .some(position) }
    }

    func advance(_ tp: TopicPartition, to position: SourcePosition) {
      if let current = positions[tp], let current, current >= position { return }
      positions[tp] = .some(position)
    }
  }
}
