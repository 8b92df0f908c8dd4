import Logging
import ServiceLifecycle

/// Runs one sink task: finds its partitions, reads them from the store in batches, delivers them
/// with retries, dead-letters or fails on records that cannot be applied, and commits offsets.
///
/// A graceful stop (``ConnectorRun``) takes no new batch: the batch being delivered is finished,
/// its offsets committed and the sink closed. Cancellation interrupts the delivery; what was not
/// committed is delivered again by the next incarnation.
struct SinkTaskRunner: Sendable {
  let connector: any SinkConnector
  let name: String
  let index: Int
  let count: Int
  let topics: [String]
  let policy: SinkErrorPolicy
  let store: any TopicStore
  let offsets: any OffsetStore
  let status: StatusBoard
  let logger: Logger
  var batchRecords: Int { connector.batching.maxRecords }
  var batchBytes: Int { connector.batching.maxBytes }

  func run() async {
    var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(60))
    while !Task.isStopping {
      let started = ContinuousClock.now
      var task: (any SinkTask)?
      do {
        let context = SinkContext(
          connectorName: name, taskIndex: index, logger: logger, status: status,
          deadLetters: DeadLetterWriter(runner: self))
        task = try connector.makeTask(index: index, count: count, context: context)
        status.updateTask(name, index) {
          $0.state = .running
          $0.trace = nil
        }
        var consumer = SinkConsumer(runner: self, task: task!)
        try await consumer.consume()
        await task!.close()
        return
      } catch {
        await task?.close()
        if Task.isStopping { return }
        let delay = backoff.next(afterRunning: ContinuousClock.now - started)
        logger.error(
          "sink task failed; restarting",
          metadata: ["task": "\(index)", "error": "\(error)", "in": "\(delay)"])
        status.updateTask(name, index) {
          $0.state = .failed
          $0.trace = "\(error)"
          $0.restarts += 1
        }
        await Task.sleepUnlessStopping(for: delay)
      }
    }
  }
}

/// The context sink tasks see.
private struct SinkContext: SinkTaskContext {
  let connectorName: String
  let taskIndex: Int
  let logger: Logger
  let status: StatusBoard
  let deadLetters: DeadLetterWriter

  func setDetail(_ name: String, _ value: String?) {
    status.updateTask(connectorName, taskIndex) { $0.details[name] = value }
  }

  var toleratesErrors: Bool { deadLetters.runner.policy.tolerateAll }

  func deadLetter(_ record: Record, reason: String, attempts: Int, headers: [RecordHeader])
    async throws
  {
    try await deadLetters.write(record, reason: reason, attempts: attempts, extra: headers)
  }
}

/// Writes records that cannot be delivered to the connector's dead-letter topic.
struct DeadLetterWriter: Sendable {
  let runner: SinkTaskRunner
  /// A bad batch would otherwise log one warning per dead-lettered record.
  let warnings = WarningRateLimiter()

  /// A connector's extra header (the URL it posted to, say) without a URL's password.
  static func maskingCredentials(_ header: RecordHeader) -> RecordHeader {
    guard let value = header.value, let text = String(validating: value, as: UTF8.self) else {
      return header
    }
    return RecordHeader(header.name, CredentialMask.masking(text))
  }

  func write(_ record: Record, reason: String, attempts: Int, extra: [RecordHeader] = [])
    async throws
  {
    let topic = runner.policy.deadLetterTopic ?? "\(runner.name).dlq"
    let headers =
      record.headers + [
        RecordHeader(DeadLetterHeaders.connector, runner.name),
        RecordHeader(DeadLetterHeaders.topic, record.topic),
        RecordHeader(DeadLetterHeaders.partition, "\(record.partition)"),
        RecordHeader(DeadLetterHeaders.offset, "\(record.offset)"),
        RecordHeader(DeadLetterHeaders.reason, CredentialMask.masking(reason)),
        RecordHeader(DeadLetterHeaders.attempts, "\(attempts)"),
      ] + extra.map(Self.maskingCredentials)
    let partitions = try await runner.store.ensureTopic(topic)
    let partition = Partitioner.partition(
      forKey: record.key ?? Array("\(record.topicPartition)".utf8), partitions: partitions)
    _ = try await runner.store.append(
      [
        OutgoingRecord(
          timestamp: record.timestamp, key: record.key, value: record.value, headers: headers)
      ],
      to: TopicPartition(topic, partition))
    if let line = warnings.line("dead-letter", "record sent to the dead-letter topic") {
      runner.logger.warning(
        "\(line)",
        metadata: [
          "record": "\(record.topicPartition)@\(record.offset)", "dlq": "\(topic)",
          "reason": "\(reason)",
        ])
    }
    runner.status.updateTask(runner.name, runner.index) {
      $0.details["dlq_records"] = String((Int($0.details["dlq_records"] ?? "0") ?? 0) + 1)
    }
  }
}

/// The read → put → commit loop of one running sink task.
private struct SinkConsumer {
  let runner: SinkTaskRunner
  let task: any SinkTask
  /// Next offset to deliver, per assigned partition.
  var positions: [TopicPartition: Int64] = [:]
  var committed: [TopicPartition: Int64] = [:]
  var lastCommit = ContinuousClock.now
  var lastDiscovery: ContinuousClock.Instant?
  var rotation = 0

  init(runner: SinkTaskRunner, task: any SinkTask) {
    self.runner = runner
    self.task = task
  }

  mutating func consume() async throws {
    var readAhead: [Record] = []
    do {
      while !Task.isStopping {
        try await discoverPartitions()
        let version = runner.store.appendVersion
        var batch = readAhead.isEmpty ? try await nextBatch() : readAhead
        readAhead = []
        let lingers = runner.connector.batching.linger > .zero
        if lingers && !batch.isEmpty && batch.count < runner.batchRecords {
          batch = try await linger(filling: batch)
        }
        if batch.isEmpty {
          try await commit(force: false)
          _ = await runner.store.waitForAppends(after: version, timeout: .seconds(1))
          continue
        }
        // Read the next batch while the sink applies this one, so the store and the sink work
        // at the same time; it starts where this batch ends, which is where delivery leaves us.
        var after = positions
        for record in batch { after[record.topicPartition] = record.offset + 1 }
        let (readFrom, nextRotation, owner) = (after, rotation + 1, runner)
        async let next = Self.readAhead(owner, from: readFrom, rotation: nextRotation)
        do {
          try await deliver(batch[...])
        } catch let rewind as SinkRewind {
          _ = await next
          readAhead = []
          try await reopen(after: rewind)
          continue
        }
        positions = after
        readAhead = await next
        try await commit(force: false)
      }
    } catch is CancellationError {
      // Shutting down: what was delivered is committed below; the rest is delivered next time.
    }
    try await commit(force: true)
  }

  /// After a ``SinkRewind``: asks the sink again where each partition stands and resumes there.
  mutating func reopen(after rewind: SinkRewind) async throws {
    runner.logger.warning(
      "sink rewinding to its own offsets",
      metadata: ["task": "\(runner.index)", "reason": "\(rewind)"])
    let partitions = positions.keys.sorted()
    for (tp, position) in try await startingPositions(of: partitions) { positions[tp] = position }
  }

  /// Where each partition starts: the sink's own offset, else the worker's stored one, else the
  /// partition's start — never before the start (retention may have removed older records).
  func startingPositions(of partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    let own = try await task.open(partitions)
    let stored = try await runner.offsets.sinkOffsets(connector: runner.name)
    var starts: [TopicPartition: Int64] = [:]
    for tp in partitions {
      let start = try await runner.store.offsets(of: tp).start
      starts[tp] = max(own[tp] ?? stored[tp] ?? start, start)
    }
    return starts
  }

  /// Assigns this task its share of the partitions of its topics, opening new ones as they appear.
  mutating func discoverPartitions() async throws {
    let now = ContinuousClock.now
    if let last = lastDiscovery, now - last < .seconds(1) { return }
    lastDiscovery = now
    var all: [TopicPartition] = []
    for topic in runner.topics {
      guard let count = try await runner.store.partitionCount(of: topic) else { continue }
      for p in 0..<count { all.append(TopicPartition(topic, p)) }
    }
    let mine = all.sorted().enumerated().filter { $0.offset % runner.count == runner.index }.map(
      \.element)
    let new = mine.filter { positions[$0] == nil }
    guard !new.isEmpty else { return }
    for (tp, position) in try await startingPositions(of: new) {
      positions[tp] = position
      committed[tp] = position
    }
    runner.logger.info(
      "sink partitions assigned", metadata: ["task": "\(runner.index)", "partitions": "\(new)"])
  }

  /// Up to `limit` records (and about `batchBytes`, counting the `taken` bytes of a batch being
  /// filled) from `positions`, taking partitions in turn from `rotation` so none starves. A
  /// partition whose position retention removed gives nothing and is listed in `removed`.
  static func read(
    _ runner: SinkTaskRunner, from positions: [TopicPartition: Int64], rotation: Int, limit: Int,
    taken: Int = 0
  ) async throws -> (records: [Record], removed: [(TopicPartition, requested: Int64, start: Int64)])
  {
    let order = positions.keys.sorted()
    var batch: [Record] = []
    var removed: [(TopicPartition, requested: Int64, start: Int64)] = []
    var bytes = taken
    for i in 0..<order.count where batch.count < limit && bytes < runner.batchBytes {
      let tp = order[(rotation + i) % order.count]
      do {
        let records = try await runner.store.read(
          from: tp, offset: positions[tp]!, maxRecords: limit - batch.count,
          maxBytes: runner.batchBytes - bytes)
        batch += records
        bytes += byteCount(records)
      } catch TopicStoreError.offsetOutOfRange(_, let requested, let start, _) {
        removed.append((tp, requested, start))
      }
    }
    return (batch, removed)
  }

  /// The next batch read ahead while another is delivered; empty when anything went wrong, so
  /// that ``nextBatch(after:)`` meets the problem and deals with it.
  static func readAhead(
    _ runner: SinkTaskRunner, from positions: [TopicPartition: Int64], rotation: Int
  )
    async -> [Record]
  {
    guard
      let read = try? await read(
        runner, from: positions, rotation: rotation, limit: runner.batchRecords),
      read.removed.isEmpty
    else { return [] }
    return read.records
  }

  static func byteCount(_ records: [Record]) -> Int {
    records.reduce(0) { $0 + ($1.value?.count ?? 0) + ($1.key?.count ?? 0) }
  }

  /// Waits up to the connector's linger for `batch` to fill, appending what arrives.
  mutating func linger(filling batch: [Record]) async throws -> [Record] {
    var batch = batch
    let deadline = ContinuousClock.now + runner.connector.batching.linger
    while batch.count < runner.batchRecords, ContinuousClock.now < deadline, !Task.isStopping {
      let version = runner.store.appendVersion
      let more = try await nextBatch(after: batch)
      if more.isEmpty {
        _ = await runner.store.waitForAppends(
          after: version, timeout: deadline - ContinuousClock.now)
      }
      batch += more
    }
    return batch
  }

  /// Up to `batchRecords` records (fewer when `after` holds some already), taking from the
  /// partitions in turn so none starves, starting after the records in `after`.
  mutating func nextBatch(after earlier: [Record] = []) async throws -> [Record] {
    guard !positions.isEmpty else { return [] }
    rotation = (rotation + 1) % positions.count
    var readFrom = positions
    for record in earlier { readFrom[record.topicPartition] = record.offset + 1 }
    let read = try await Self.read(
      runner, from: readFrom, rotation: rotation, limit: runner.batchRecords - earlier.count,
      taken: Self.byteCount(earlier))
    for (tp, requested, start) in read.removed {
      runner.logger.warning(
        "sink position was removed by retention; skipping ahead",
        metadata: ["partition": "\(tp)", "from": "\(requested)", "to": "\(start)"])
      positions[tp] = start
    }
    return read.records
  }

  /// Delivers records in order. Connection-type errors are retried forever with capped backoff;
  /// a ``SinkRecordError`` is retried `policy.retries` times, then dead-lettered or fatal.
  func deliver(_ records: ArraySlice<Record>) async throws {
    var remaining = records
    var connectionBackoff = Backoff(
      initial: runner.policy.initialBackoff, maximum: runner.policy.maximumBackoff)
    var recordBackoff = connectionBackoff
    var failing: String?
    var poison: (record: Record, attempts: Int)?
    while !remaining.isEmpty {
      do {
        try await task.put(Array(remaining))
        if failing != nil {
          runner.logger.info("sink recovered", metadata: ["task": "\(runner.index)"])
          runner.status.updateTask(runner.name, runner.index) { $0.trace = nil }
        }
        return
      } catch let error as SinkRecordError {
        guard
          let at = remaining.firstIndex(where: {
            $0.topicPartition == error.record.topicPartition && $0.offset == error.record.offset
          })
        else {
          throw SinkTaskFailure(description: "sink reported a record outside the batch: \(error)")
        }
        if at > remaining.startIndex {
          try await deliver(remaining[..<at])
          remaining = remaining[at...]
        }
        let attempts = (poison?.record == error.record ? poison!.attempts : 0) + 1
        poison = (error.record, attempts)
        if attempts <= runner.policy.retries {
          try await Task.sleep(for: recordBackoff.next())
          continue
        }
        guard runner.policy.tolerateAll else {
          throw SinkTaskFailure(
            description: "\(error) (after \(attempts) attempts; errors.tolerance is none)")
        }
        try await deadLetter(error.record, reason: error.reason, attempts: attempts)
        remaining = remaining.dropFirst()
        poison = nil
        recordBackoff.reset()
      } catch is CancellationError {
        throw CancellationError()
      } catch let rewind as SinkRewind {
        throw rewind
      } catch let failure as SinkTaskFailure {
        throw failure
      } catch {
        let message = "\(error)"
        if failing != message {
          runner.logger.error(
            "sink delivery failing; retrying",
            metadata: ["task": "\(runner.index)", "error": "\(message)"])
          runner.status.updateTask(runner.name, runner.index) { $0.trace = "retrying: \(message)" }
          failing = message
        }
        // Stopping: a batch that cannot be delivered now is delivered by the next incarnation.
        if Task.isShuttingDownGracefully { throw CancellationError() }
        let delay = connectionBackoff.next()
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
      }
    }
  }

  func deadLetter(_ record: Record, reason: String, attempts: Int) async throws {
    try await DeadLetterWriter(runner: runner).write(record, reason: reason, attempts: attempts)
  }

  /// Stores the delivered offsets at most once per the connector's commit interval (and
  /// always on `force`); sinks that keep offsets themselves make this a hint, at-least-once
  /// sinks replay at most that interval after a crash.
  mutating func commit(force: Bool) async throws {
    guard positions != committed else { return }
    let now = ContinuousClock.now
    guard force || now - lastCommit >= runner.connector.offsetCommitInterval else { return }
    try await runner.offsets.commitSinkOffsets(positions, connector: runner.name)
    committed = positions
    lastCommit = now
  }
}
