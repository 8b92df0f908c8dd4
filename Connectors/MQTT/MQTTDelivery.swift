import Dispatch
import SluiceCore
import Synchronization

/// Makes each batch the network loop reads durable: skips redeliveries, maps messages to
/// records (dead-lettering or dropping bad ones), and blocks the loop thread until
/// `context.send` has made them durable.
///
/// Used only from the network loop's thread (hence `@unchecked Sendable`); the async `send`
/// runs in a task of its own while that thread waits on a semaphore, so no thread of Swift's
/// cooperative pool ever blocks.
final class MQTTDelivery: @unchecked Sendable {
  private let config: MQTTConfig
  private let context: any SourceTaskContext
  private var mapper: MQTTRecordMapper
  private var filter: RedeliveryFilter
  /// The store's record size limit, once a record has been refused for it.
  private var recordLimit: Int?
  private var messages = 0
  private var deadLettered = 0
  private var dropped = 0
  private var redeliveries = 0
  private let warnings = WarningRateLimiter()
  private let metrics: MQTTMetrics?

  init(
    config: MQTTConfig, context: any SourceTaskContext, filter: RedeliveryFilter,
    metrics: MQTTMetrics? = nil
  ) {
    self.config = config
    self.context = context
    self.metrics = metrics
    self.mapper = MQTTRecordMapper(config: config)
    self.filter = filter
  }

  /// A (re)connect: redeliveries may follow.
  func connected() { filter.connected() }

  /// Returns when every message of `batch` is durable in its topic (or skipped or dropped).
  func deliver(_ batch: [MQTTMessage]) throws {
    let receivedMs = currentTimeMillis()
    var records: [SourceRecord] = []
    var identities: [MessageIdentity] = []
    records.reserveCapacity(batch.count)
    var newlyDeadLettered = 0
    var newlyDropped = 0
    var skipped = 0
    for message in batch {
      let identity = MessageIdentity(
        mid: message.mid, topic: message.topic, payload: message.payload)
      if filter.isRedelivery(identity) {
        skipped += 1
        continue
      }
      switch mapper.map(message, receivedMs: receivedMs) {
      case .record(let record):
        records.append(record)
        identities.append(identity)
      case .deadLetter(let record, let reason):
        records.append(record)
        identities.append(identity)
        newlyDeadLettered += 1
        problem("dead-lettered a message from '\(message.topic)': \(reason)")
      case .drop(let reason):
        newlyDropped += 1
        problem("dropped a message from '\(message.topic)': \(reason)")
      }
    }
    if skipped > 0 {
      redeliveries += skipped
      context.logger.info(
        "skipped \(skipped) redelivered messages that were already durable before the reconnect")
    }
    // Messages too large for the store are dead-lettered on the way and counted as such.
    if !records.isEmpty { newlyDeadLettered += try sendDurably(&records) }
    for identity in identities { filter.written(identity) }
    messages += records.count - newlyDeadLettered
    deadLettered += newlyDeadLettered
    dropped += newlyDropped
    metrics?.delivered(messages: batch.count - skipped, redeliveriesSkipped: skipped)
    context.setDetail("messages", String(messages))
    if deadLettered > 0 { context.setDetail("dead_lettered", String(deadLettered)) }
    if dropped > 0 { context.setDetail("dropped", String(dropped)) }
    if redeliveries > 0 { context.setDetail("redeliveries_skipped", String(redeliveries)) }
  }

  /// Logs a bad message, but not the same kind of problem for every message of a bad feed:
  /// each kind (the text before its first quote or colon) once a minute at most.
  private func problem(_ line: String) {
    let kind = String(line.prefix { $0 != "'" && $0 != ":" })
    if let line = warnings.line(kind, line) { context.logger.warning("\(line)") }
  }

  /// Sends `records` durably; returns how many of them were replaced by dead letters because
  /// the store does not take records that large.
  private func sendDurably(_ records: inout [SourceRecord]) throws -> Int {
    var replaced = recordLimit.map { shrink(&records, limit: $0) } ?? 0
    do {
      try blockingSend(records)
    } catch TopicStoreError.recordTooLarge(_, let limit) {
      // Learned once; later batches are checked before they are sent. Partitions of this batch
      // that were written before the refusal are written again (the one known duplicate case).
      recordLimit = limit
      replaced += shrink(&records, limit: limit)
      try blockingSend(records)
    }
    return replaced
  }

  /// Replaces records larger than the store takes by a dead letter without the value; returns
  /// how many it replaced.
  private func shrink(_ records: inout [SourceRecord], limit: Int) -> Int {
    var replaced = 0
    for i in records.indices {
      let record = records[i]
      let size =
        (record.value?.count ?? 0) + (record.key?.count ?? 0)
        + record.headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
      // The store counts its own framing too; leave it room.
      guard size > limit - 4096 else { continue }
      let reason =
        "message of \(record.value?.count ?? 0) bytes is larger than the store takes (\(limit) bytes)"
      problem(reason)
      guard case .deadLetter(let topic) = config.invalidPayload else {
        records[i].value = nil
        records[i].headers.append(RecordHeader(DeadLetterHeaders.reason, reason))
        continue
      }
      replaced += 1
      records[i] = SourceRecord(
        topic: topic, key: record.key, value: nil,
        headers: Array(record.headers.prefix(8)) + [
          RecordHeader(DeadLetterHeaders.connector, config.name),
          RecordHeader(DeadLetterHeaders.reason, reason),
        ], timestamp: record.timestamp, position: nil)
    }
    return replaced
  }

  /// Runs the async `send` in a task and waits for it on this (non-cooperative) thread.
  private func blockingSend(_ records: [SourceRecord]) throws {
    let done = DispatchSemaphore(value: 0)
    let failure = Mutex<(any Error)?>(nil)
    let context = self.context
    Task {
      do {
        _ = try await context.send(records)
      } catch {
        failure.withLock { $0 = error }
      }
      done.signal()
    }
    done.wait()
    if let error = failure.withLock({ $0 }) { throw error }
  }
}
