import Logging
import Metrics

/// A record a source's transform failed on, without `errors.tolerance: all`: the task fails with
/// the reason.
struct SourceTransformFailure: Error, CustomStringConvertible {
  var description: String
}

extension TransformOutcome {
  func record(in metrics: TaskMetrics) {
    if dropped > 0 { metrics.dropped.increment(by: Int64(dropped)) }
    if deadLettered > 0 {
      metrics.deadLettered.increment(by: Int64(deadLettered))
      metrics.errors.increment(by: Int64(deadLettered))
    }
  }
}

/// The ``SourceTaskContext`` a source task writes through: routes records to partitions,
/// drops records already durable (by position), and writes them with the source position
/// through the store's ``SourceSession``.
///
/// Exactly-once for sources rests here (DESIGN.md §3): the position is committed only with or
/// after every record up to it, and on restart records whose position is not past the last one
/// durably in their partition are dropped.
final class SourceWriter: SourceTaskContext {
  let connectorName: String
  let taskIndex: Int
  let logger: Logger
  let committedPosition: SourcePosition?

  let store: any TopicStore
  private let session: any SourceSession
  private let status: StatusBoard
  private let producer: Producer
  private let state = State()
  private let history: SourceHistory
  private let gate: PauseGate
  private let transforms: TransformChain
  private let errors: SinkErrorPolicy
  private let metrics: TaskMetrics

  init(
    connector: String, taskIndex: Int, store: any TopicStore, session: any SourceSession,
    status: StatusBoard, logger: Logger, committedPosition: SourcePosition?,
    gate: PauseGate = PauseGate(), transforms: TransformChain = TransformChain(),
    errors: SinkErrorPolicy = SinkErrorPolicy(), metrics: TaskMetrics? = nil
  ) {
    self.gate = gate
    self.transforms = transforms
    self.errors = errors
    self.connectorName = connector
    self.taskIndex = taskIndex
    self.store = store
    self.producer = Producer(store: store)
    self.session = session
    self.status = status
    self.logger = logger
    self.committedPosition = committedPosition
    self.history = SourceHistory(store: store, connector: connector)
    self.metrics = metrics ?? TaskMetrics(kind: .source, connector: connector, task: taskIndex)
  }

  func setDetail(_ name: String, _ value: String?) {
    status.updateTask(connectorName, taskIndex) { $0.details[name] = value }
  }

  func setWarning(_ source: String, _ warning: TaskWarning?) {
    status.updateTask(connectorName, taskIndex) { $0.setWarning(source, warning) }
  }

  var transformsRecords: Bool { !transforms.isEmpty }

  func send(_ sent: consuming [SourceRecord]) async throws -> [RecordMetadata] {
    guard !sent.isEmpty else { return [] }
    return try await send(prepare(sent))
  }

  func prepare(_ sent: consuming [SourceRecord]) throws -> PreparedSend {
    var results = [RecordMetadata?](repeating: nil, count: sent.count)
    let lastPosition = sent.last(where: { $0.position != nil })?.position
    guard !transforms.isEmpty else {
      // Untransformed, the batch itself goes on (moved, not copied: see `unwritten`).
      return PreparedSend(
        records: sent, kept: Array(0..<results.count), results: results,
        lastPosition: lastPosition)
    }
    // Transformed, records keep their place in `sent` (`kept`), so each gets its metadata.
    let (records, kept, outcome) = try transformed(sent, into: &results)
    return PreparedSend(
      records: records, kept: kept, results: results, lastPosition: lastPosition,
      outcome: outcome)
  }

  func send(_ prepared: consuming PreparedSend) async throws -> [RecordMetadata] {
    guard !prepared.results.isEmpty else { return [] }
    // A paused connector takes no input: the task waits here with its batch, and its own
    // buffers fill and stop it reading upstream.
    try await gate.waitWhilePaused()
    var results = prepared.results
    let kept = prepared.kept
    var batches: [(TopicPartition, [OutgoingRecord])] = []
    var placements: [(indexes: [Int], lastPosition: SourcePosition?)] = []
    for (tp, batch) in try await producer.route(prepared.records) {
      let unwritten = try await unwritten(batch, of: &prepared.records, in: tp)
      for index in unwritten.replayed {
        results[kept[index]] = RecordMetadata(
          topic: tp.topic, partition: tp.partition, offset: RecordMetadata.replayedOffset)
      }
      guard !unwritten.records.isEmpty else { continue }
      batches.append((tp, unwritten.records))
      placements.append((unwritten.indexes, unwritten.lastPosition))
    }
    status.topics.note(connectorName, batches.lazy.map(\.0.topic))
    // Everything up to the last position of this send is written, the records a filter dropped
    // included: commit it with them.
    let last = prepared.lastPosition
    let started = ContinuousClock.now
    let bases = try await session.write(batches, committing: last)
    metrics.delivery.record(duration: ContinuousClock.now - started)
    for (_, batch) in batches {
      metrics.count(batch) { ($0.key?.count ?? 0) + ($0.value?.count ?? 0) }
    }
    // The position went with the records: its commit took no time of its own.
    if last != nil { metrics.offsetCommits.increment() }
    prepared.outcome.record(in: metrics)
    for ((tp, _), (placement, base)) in zip(batches, zip(placements, bases)) {
      if let position = placement.lastPosition { await state.advance(tp, to: position) }
      for (i, index) in placement.indexes.enumerated() {
        results[kept[index]] = RecordMetadata(
          topic: tp.topic, partition: tp.partition, offset: base + Int64(i))
      }
    }
    return results.map { $0! }
  }

  func send(encoded sends: consuming [EncodedSend], committing position: SourcePosition?)
    async throws
  {
    guard !sends.isEmpty else { return }
    // Transforms work on records, which encoded sends do not have: a source asks first
    // (``transformsRecords``), and one that did not fails its task, not the worker.
    guard transforms.isEmpty else {
      throw SourceTransformFailure(
        description: "the connector's transforms cannot run on records its source encoded itself")
    }
    try await gate.waitWhilePaused()
    var batches: [(TopicPartition, EncodedRecords)] = []
    var positions: [SourcePosition] = []
    var partitionCounts: [String: Int] = [:]
    while var send = sends.popLast() {
      let tp = send.partition
      let count: Int
      if let known = partitionCounts[tp.topic] {
        count = known
      } else {
        count = try await store.ensureTopic(tp.topic)
        partitionCounts[tp.topic] = count
      }
      guard tp.partition >= 0 && tp.partition < count else {
        throw TopicStoreError.unknownPartition(tp.topic, tp.partition, partitions: count)
      }
      if let durable = try await lastDurablePosition(tp), send.position <= durable { continue }
      send.last.headers += [
        RecordHeader(SourceHeaders.connector, connectorName),
        RecordHeader(SourceHeaders.position, send.position.text),
      ]
      send.records.append(send.last)
      batches.append((tp, send.records))
      positions.append(send.position)
    }
    // Popped from the end: back in the order given.
    batches.reverse()
    positions.reverse()
    status.topics.note(connectorName, batches.lazy.map(\.0.topic))
    let started = ContinuousClock.now
    _ = try await session.write(encoded: batches, committing: position)
    metrics.delivery.record(duration: ContinuousClock.now - started)
    for (_, records) in batches {
      metrics.count(records: records.count, bytes: records.keyValueBytes)
    }
    if position != nil { metrics.offsetCommits.increment() }
    for ((tp, _), position) in zip(batches, positions) { await state.advance(tp, to: position) }
  }

  func commit(_ position: SourcePosition) async throws {
    let started = ContinuousClock.now
    try await session.commit(position)
    metrics.committedOffsets(in: ContinuousClock.now - started)
  }

  /// `sent` after the connector's transforms, with the index in `sent` of each record kept.
  /// A record a filter drops gets offset -2 in `results`; one a transform fails on goes to the
  /// dead-letter topic, with the reason in its headers, under `errors.tolerance: all` (sources
  /// have one too, unlike Kafka Connect's), and otherwise fails the send.
  private func transformed(_ sent: [SourceRecord], into results: inout [RecordMetadata?]) throws
    -> (records: [SourceRecord], kept: [Int], outcome: TransformOutcome)
  {
    var records: [SourceRecord] = []
    var kept: [Int] = []
    var outcome = TransformOutcome()
    records.reserveCapacity(sent.count)
    kept.reserveCapacity(sent.count)
    // By index, not `enumerated()`: each record is read where it lies, not copied out first.
    for index in sent.indices {
      switch transforms.apply(TransformRecord(sent[index])) {
      case .record(let out):
        records.append(out.sourceRecord(position: sent[index].position))
        kept.append(index)
      case .dropped:
        results[index] = RecordMetadata(
          topic: sent[index].topic, partition: 0, offset: RecordMetadata.droppedOffset)
        outcome.dropped += 1
      case .failed(let step, let reason):
        let record = sent[index]
        let message = "transform '\(step)' failed: \(reason)"
        guard errors.tolerateAll, let topic = errors.deadLetterTopic else {
          metrics.errors.increment()
          throw SourceTransformFailure(description: message)
        }
        outcome.deadLettered += 1
        var dead = record
        dead.topic = topic
        dead.partition = nil
        dead.headers += [
          RecordHeader(DeadLetterHeaders.connector, connectorName),
          RecordHeader(DeadLetterHeaders.topic, record.topic),
          RecordHeader(DeadLetterHeaders.reason, CredentialMask.masking(message)),
          RecordHeader(TransformHeaders.transform, step),
        ]
        records.append(dead)
        kept.append(index)
      }
    }
    return (records, kept, outcome)
  }

  /// Waits until every position committed so far is written (a task that stops or fails,
  /// before the next one reads the committed position).
  func flushCommits() async throws {
    try await session.flush()
  }

  func lastDurablePosition(in partition: TopicPartition) async throws -> SourcePosition? {
    try await lastDurablePosition(partition)
  }

  func recentlyWritten(maxAge: Duration?, maxCount: Int?) async throws -> WrittenRecords {
    try await session.recentlyWritten(
      maxAge: maxAge, maxCount: maxCount, nowMs: currentTimeMillis())
  }

  /// One partition's share of a send without the records it already holds, the last one
  /// carrying this connector's name and the batch's last position in its headers.
  ///
  /// Each record's key, value and headers are moved out of `records`, not copied: a copy
  /// retains each of them, on bytes the source's thread wrote last, and releases them again
  /// when the send's records go (a snapshot sends millions). A batch the caller still holds is
  /// copied once, when the first is moved, and the caller's stays as it was.
  private func unwritten(_ batch: [Int], of records: inout [SourceRecord], in tp: TopicPartition)
    async throws
    -> (records: [OutgoingRecord], indexes: [Int], replayed: [Int], lastPosition: SourcePosition?)
  {
    let hasPositions = batch.contains { records[$0].position != nil }
    let durable = hasPositions ? try await lastDurablePosition(tp) : nil
    var outgoing: [OutgoingRecord] = []
    var indexes: [Int] = []
    var replayed: [Int] = []
    outgoing.reserveCapacity(batch.count)
    indexes.reserveCapacity(batch.count)
    for index in batch {
      if let durable, let position = records[index].position, position <= durable {
        replayed.append(index)
        continue
      }
      var headers: [RecordHeader] = []
      swap(&headers, &records[index].headers)
      outgoing.append(
        OutgoingRecord(
          timestamp: records[index].timestamp, key: records[index].key.take(),
          value: records[index].value.take(), headers: headers))
      indexes.append(index)
    }
    let lastPosition = batch.last(where: { records[$0].position != nil }).flatMap {
      records[$0].position
    }
    if let lastPosition, !outgoing.isEmpty {
      outgoing[outgoing.count - 1].headers += [
        RecordHeader(SourceHeaders.connector, connectorName),
        RecordHeader(SourceHeaders.position, lastPosition.text),
      ]
    }
    return (outgoing, indexes, replayed, lastPosition)
  }

  /// The position of the last record this connector durably wrote to `tp`, found once in the
  /// ``SourceHistory`` and then kept up to date in memory.
  private func lastDurablePosition(_ tp: TopicPartition) async throws -> SourcePosition? {
    if let known = await state.position(tp) { return known }
    let found = try await history.lastPosition(in: tp)
    await state.learn(tp, found)
    return found
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
