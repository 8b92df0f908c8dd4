import Logging
import Metrics
import ServiceLifecycle

/// Runs one sink task: a member of its connector's consumer group, it is given partitions by the
/// group, reads them in batches, delivers them with retries, dead-letters or fails on records
/// that cannot be applied, and commits offsets to the group.
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
  let status: StatusBoard
  let logger: Logger
  let gate: PauseGate
  let restart: TaskRestartSignal
  /// Applied to every record between the store and the sink.
  var transforms = TransformChain()
  var batchRecords: Int { connector.batching.maxRecords }
  var batchBytes: Int { connector.batching.maxBytes }

  func run() async {
    var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(60))
    let metrics = TaskMetrics(kind: .sink, connector: name, task: index)
    while !Task.isStopping {
      let started = ContinuousClock.now
      var task: (any SinkTask)?
      var consumer: (any TopicConsumer)?
      do {
        let context = SinkContext(
          connectorName: name, taskIndex: index, logger: logger, status: status,
          deadLetters: DeadLetterWriter(runner: self, metrics: metrics))
        task = try connector.makeTask(index: index, count: count, context: context)
        status.updateTask(name, index) { [gate] in
          $0.state = gate.isPaused ? .paused : .running
          $0.trace = nil
        }
        consumer = try await store.makeConsumer(group: name, member: "\(index)")
        let (runner, sink, member) = (self, task!, consumer!)
        let restarted = try await restart.run {
          var loop = SinkConsumer(runner: runner, task: sink, consumer: member, metrics: metrics)
          try await loop.consume()
        }
        // The task lets go of its partitions before the group may give them to another.
        await task!.close()
        await consumer?.close()
        if restarted && !Task.isStopping {
          logger.info("sink task restarting on request", metadata: ["task": "\(index)"])
          backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(60))
          continue
        }
        return
      } catch {
        // Leaving the group hands this task's partitions to the others until it is back.
        await task?.close()
        await consumer?.close()
        if Task.isStopping { return }
        let delay = backoff.next(afterRunning: ContinuousClock.now - started)
        metrics.errors.increment()
        metrics.retries.increment()
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
  /// Counts each record written (`sluice_dlq_records_total`).
  let metrics: TaskMetrics
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
    metrics.deadLettered.increment()
    runner.status.updateTask(runner.name, runner.index) {
      $0.details["dlq_records"] = String((Int($0.details["dlq_records"] ?? "0") ?? 0) + 1)
    }
  }
}

/// The poll → put → commit loop of one running sink task.
private struct SinkConsumer {
  let runner: SinkTaskRunner
  let task: any SinkTask
  let consumer: any TopicConsumer
  /// Next offset to deliver, per partition the group gave this task.
  var positions: [TopicPartition: Int64] = [:]
  var committed: [TopicPartition: Int64] = [:]
  var lastCommit = ContinuousClock.now
  var lastLagReport: ContinuousClock.Instant?
  let metrics: TaskMetrics
  var lag: SinkLagGauges

  init(
    runner: SinkTaskRunner, task: any SinkTask, consumer: any TopicConsumer, metrics: TaskMetrics
  ) {
    self.runner = runner
    self.task = task
    self.consumer = consumer
    self.metrics = metrics
    self.lag = SinkLagGauges(connector: runner.name)
  }

  mutating func consume() async throws {
    // A stopped task (restarted, reconfigured, removed) shows no lag for partitions it left.
    defer { lag.removeAll() }
    try await consumer.subscribe(runner.topics)
    do {
      while !Task.isStopping {
        if runner.gate.isPaused {
          // Paused: what was delivered is committed, and nothing is read until resumed.
          try await commit(force: true)
          try await runner.gate.waitWhilePaused()
        }
        var batch = try await poll(timeout: .seconds(1), holding: []).records
        let lingers = runner.connector.batching.linger > .zero
        if lingers && !batch.isEmpty && batch.count < runner.batchRecords {
          batch = try await linger(filling: batch)
        }
        if batch.isEmpty {
          try await commit(force: false)
          await reportLag()
          continue
        }
        do {
          let transformed = try await transform(batch)
          if !transformed.isEmpty { try await deliver(transformed[...]) }
        } catch let rewind as SinkRewind {
          try await reopen(after: rewind)
          continue
        }
        for record in batch { positions[record.topicPartition] = record.offset + 1 }
        try await commit(force: false)
        await reportLag()
      }
    } catch is CancellationError {
      // Shutting down: what was delivered is committed below; the rest is delivered next time.
    }
    try await commit(force: true)
  }

  /// One poll of the consumer, `held` being records read and not yet delivered. A change of
  /// partitions is handled here, before the next poll lets the group move them: revoked ones
  /// are committed and closed (and their held records dropped: their next owner delivers them),
  /// assigned ones opened at the offset where delivery resumes.
  mutating func poll(timeout: Duration, holding held: [Record]) async throws -> (
    records: [Record], revoked: Set<TopicPartition>
  ) {
    let started = ContinuousClock.now
    let result = try await consumer.poll(
      maxRecords: runner.batchRecords - held.count,
      maxBytes: max(1, runner.batchBytes - Self.byteCount(held)), timeout: timeout)
    metrics.poll?.record(duration: ContinuousClock.now - started)
    if !result.revoked.isEmpty { try await revoke(result.revoked) }
    // A stopping task takes on nothing new: leaving the group gives the partitions back.
    if !result.assigned.isEmpty && !Task.isStopping { try await assign(result.assigned) }
    for (tp, from, to) in result.skipped {
      runner.logger.warning(
        "sink position was removed by retention; skipping ahead",
        metadata: ["partition": "\(tp)", "from": "\(from)", "to": "\(to)"])
      positions[tp] = to
    }
    return (result.records, Set(result.revoked))
  }

  mutating func assign(_ partitions: [TopicPartition]) async throws {
    runner.status.topics.note(runner.name, partitions.lazy.map(\.topic))
    for (tp, position) in try await startingPositions(of: partitions) {
      positions[tp] = position
      committed[tp] = position
      await consumer.seek(tp, to: position)
    }
    runner.logger.info(
      "sink partitions assigned",
      metadata: ["task": "\(runner.index)", "partitions": "\(partitions)"])
  }

  mutating func revoke(_ partitions: [TopicPartition]) async throws {
    let delivered = positions.filter {
      partitions.contains($0.key) && committed[$0.key] != $0.value
    }
    let started = ContinuousClock.now
    try await consumer.commit(delivered)
    if !delivered.isEmpty { metrics.committedOffsets(in: ContinuousClock.now - started) }
    try await task.close(partitions)
    for tp in partitions {
      positions[tp] = nil
      committed[tp] = nil
    }
    lag.remove(partitions)
    runner.logger.info(
      "sink partitions revoked",
      metadata: ["task": "\(runner.index)", "partitions": "\(partitions)"])
  }

  /// After a ``SinkRewind``: asks the sink again where each partition stands and resumes there.
  mutating func reopen(after rewind: SinkRewind) async throws {
    runner.logger.warning(
      "sink rewinding to its own offsets",
      metadata: ["task": "\(runner.index)", "reason": "\(rewind)"])
    let partitions = positions.keys.sorted()
    for (tp, position) in try await startingPositions(of: partitions) {
      positions[tp] = position
      await consumer.seek(tp, to: position)
    }
  }

  /// Where each partition starts: the sink's own offset, else the group's committed one, else
  /// the partition's start — never before the start (retention may have removed older records).
  func startingPositions(of partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    let own = try await task.open(partitions)
    let stored = try await consumer.committed(partitions)
    var starts: [TopicPartition: Int64] = [:]
    for tp in partitions {
      let start = try await runner.store.offsets(of: tp).start
      starts[tp] = max(own[tp] ?? stored[tp] ?? start, start)
    }
    return starts
  }

  static func byteCount(_ records: [Record]) -> Int {
    records.reduce(0) { $0 + ($1.value?.count ?? 0) + ($1.key?.count ?? 0) }
  }

  /// Waits up to the connector's linger for `batch` to fill, appending what arrives.
  mutating func linger(filling batch: [Record]) async throws -> [Record] {
    var batch = batch
    let deadline = ContinuousClock.now + runner.connector.batching.linger
    while batch.count < runner.batchRecords, ContinuousClock.now < deadline, !Task.isStopping {
      let (more, revoked) = try await poll(
        timeout: deadline - ContinuousClock.now, holding: batch)
      if !revoked.isEmpty { batch.removeAll { revoked.contains($0.topicPartition) } }
      batch += more
    }
    return batch
  }

  /// The batch after the connector's transforms: records a filter drops are left out (their
  /// offsets are still committed); a record a transform fails on goes to the dead-letter topic
  /// with `errors.tolerance: all`, else the task fails with the reason.
  func transform(_ batch: [Record]) async throws -> [Record] {
    let chain = runner.transforms
    guard !chain.isEmpty else { return batch }
    var out: [Record] = []
    out.reserveCapacity(batch.count)
    var dropped = 0
    defer { if dropped > 0 { metrics.dropped.increment(by: Int64(dropped)) } }
    for record in batch {
      switch chain.apply(TransformRecord(record)) {
      case .record(let transformed):
        out.append(transformed.sinkRecord(from: record))
      case .dropped:
        dropped += 1
      case .failed(let step, let reason):
        let message = "transform '\(step)' failed: \(reason)"
        metrics.errors.increment()
        guard runner.policy.tolerateAll else {
          throw SinkTaskFailure(
            description: "record \(record.topicPartition)@\(record.offset): \(message)")
        }
        try await DeadLetterWriter(runner: runner, metrics: metrics).write(
          record, reason: message, attempts: 1,
          extra: [RecordHeader(TransformHeaders.transform, step)])
      }
    }
    return out
  }

  /// Delivers records in order, doing what ``SinkDelivery`` decides after each failure.
  func deliver(_ records: ArraySlice<Record>) async throws {
    var delivery = SinkDelivery(policy: runner.policy)
    try await deliver(records, with: &delivery)
  }

  private func deliver(_ records: ArraySlice<Record>, with delivery: inout SinkDelivery)
    async throws
  {
    var remaining = records
    while !remaining.isEmpty {
      do {
        let started = ContinuousClock.now
        defer { metrics.delivery.record(duration: ContinuousClock.now - started) }
        try await task.put(Array(remaining))
        metrics.count(remaining) { ($0.key?.count ?? 0) + ($0.value?.count ?? 0) }
        if delivery.delivered() {
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
        // The records before it were not applied either: deliver them first, in order.
        if at > remaining.startIndex {
          try await deliver(remaining[..<at])
          remaining = remaining[at...]
        }
        metrics.errors.increment()
        switch delivery.refused(error.record) {
        case .retryRecord(let delay):
          metrics.retries.increment()
          try await Task.sleep(for: delay)
        case .fail(let attempts):
          throw SinkTaskFailure(
            description: "\(error) (after \(attempts) attempts; errors.tolerance is none)")
        case .deadLetter(let attempts):
          try await deadLetter(error.record, reason: error.reason, attempts: attempts)
          remaining = remaining.dropFirst()
        case .retryBatch, .stop:
          preconditionFailure("a refused record is retried, dead-lettered or fatal")
        }
      } catch is CancellationError {
        throw CancellationError()
      } catch let rewind as SinkRewind {
        throw rewind
      } catch let failure as SinkTaskFailure {
        throw failure
      } catch {
        let message = "\(error)"
        metrics.errors.increment()
        switch delivery.failed(message, shuttingDown: Task.isShuttingDownGracefully) {
        case .stop:
          // A batch that cannot be delivered now is delivered by the next incarnation.
          throw CancellationError()
        case .retryBatch(let delay, let report):
          if report {
            runner.logger.error(
              "sink delivery failing; retrying",
              metadata: ["task": "\(runner.index)", "error": "\(message)"])
            runner.status.updateTask(runner.name, runner.index) {
              $0.trace = "retrying: \(message)"
            }
          }
          metrics.retries.increment()
          try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        case .retryRecord, .deadLetter, .fail:
          preconditionFailure("a failed delivery is retried or stopped")
        }
      }
    }
  }

  func deadLetter(_ record: Record, reason: String, attempts: Int) async throws {
    try await DeadLetterWriter(runner: runner, metrics: metrics).write(
      record, reason: reason, attempts: attempts)
  }

  /// Shows in the task's status, at most once a second, how many records of its partitions
  /// are not delivered yet (`lag_records`, the sum over its partitions of end - position) and
  /// over how many partitions (`partitions`); and each partition's lag as
  /// `sluice_sink_lag_records` (``SinkLagGauges``).
  mutating func reportLag() async {
    let now = ContinuousClock.now
    if let last = lastLagReport, now - last < .seconds(1) { return }
    lastLagReport = now
    var partitions: [TopicPartition: Int64] = [:]
    for (tp, position) in positions {
      guard let end = try? await runner.store.offsets(of: tp).end else { return }
      partitions[tp] = max(0, end - position)
    }
    lag.report(partitions)
    let (count, total) = (positions.count, partitions.values.reduce(0, +))
    runner.status.updateTask(runner.name, runner.index) {
      $0.details["lag_records"] = "\(total)"
      $0.details["partitions"] = "\(count)"
    }
  }

  /// Commits the delivered offsets to the group at most once per the connector's commit
  /// interval (and always on `force`); sinks that keep offsets themselves make this a hint,
  /// at-least-once sinks replay at most that interval after a crash.
  mutating func commit(force: Bool) async throws {
    guard positions != committed else { return }
    let now = ContinuousClock.now
    guard force || now - lastCommit >= runner.connector.offsetCommitInterval else { return }
    let changed = positions.filter { committed[$0.key] != $0.value }
    // Not cancelled half-way: a task stopped by cancellation (a restart on request) still
    // stores what it delivered, as a graceful stop does.
    let consumer = self.consumer
    let started = ContinuousClock.now
    try await Task { try await consumer.commit(changed) }.value
    metrics.committedOffsets(in: ContinuousClock.now - started)
    committed = positions
    lastCommit = now
  }
}
