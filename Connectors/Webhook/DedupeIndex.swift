import NIOCore
import SluiceCore

/// Where an accepted webhook went: the answer a repeat of its idempotency key gets.
struct Placement: Sendable, Equatable {
  var topic: String
  var partition: Int
  var offset: Int64

  var json: String {
    "{\"topic\":\(JSONWriter.quoted(topic)),\"partition\":\(partition),\"offset\":\(offset)}\n"
  }
}

/// Idempotency keys seen inside the dedupe window, and the writes still in progress, so that a
/// repeated key — concurrent or later, also after a restart — gets the first answer and writes
/// nothing. The keys live in the records themselves (a header), so the index is rebuilt from
/// the topics at start and is never ahead of what is durable.
///
/// The index holds at most `maxBytes` of keys: past it the oldest keys are forgotten first
/// (counted in `evicted`), so no stream of distinct keys can exhaust memory.
actor DedupeIndex {
  static let header = "webhook.idempotency_key"
  /// What one remembered key costs besides its text and topic name (dictionary slot, placement).
  static let entryOverhead = 96

  private struct Entry {
    var placement: Placement
    var atMs: Int64
    /// Tells a key's current entry from an older one still queued in `order`.
    var sequence: UInt64
  }

  private var done: [String: Entry] = [:]
  /// Keys oldest first, with the sequence they were stored under, for eviction.
  private var order = CircularBuffer<(key: String, sequence: UInt64)>()
  private var nextSequence: UInt64 = 0
  private var inFlight: [String: Task<Placement, any Error>] = [:]
  /// How long a key is remembered.
  let window: Duration
  /// ``window`` in the unit of the times it is compared with (record timestamps).
  private let windowMs: Int64
  private let maxBytes: Int
  private(set) var bytes = 0
  private(set) var evicted = 0

  init(window: Duration, maxBytes: Int = 64 << 20) {
    self.window = window
    self.windowMs = window.inMilliseconds
    self.maxBytes = maxBytes
  }

  /// The first answer for `key`, running `write` only if the key is new. A failed write
  /// forgets the key, so a retry writes again.
  func placement(
    for key: String, nowMs: Int64, write: @escaping @Sendable () async throws -> Placement
  ) async throws
    -> (Placement, replayed: Bool)
  {
    if let seen = done[key], nowMs.saturatingMinus(seen.atMs) <= windowMs {
      return (seen.placement, true)
    }
    if let pending = inFlight[key] { return (try await pending.value, true) }
    let task = Task { try await write() }
    inFlight[key] = task
    defer { inFlight[key] = nil }
    let placement = try await task.value
    remember(key, placement, atMs: nowMs)
    return (placement, false)
  }

  /// Forgets keys older than the window.
  func expire(nowMs: Int64) {
    for (key, entry) in done where nowMs.saturatingMinus(entry.atMs) > windowMs {
      forget(key, entry)
    }
    compactOrder()
  }

  var count: Int { done.count }

  private static func cost(_ key: String, _ placement: Placement) -> Int {
    key.utf8.count + placement.topic.utf8.count + entryOverhead
  }

  private func remember(_ key: String, _ placement: Placement, atMs: Int64) {
    if let old = done[key] { forget(key, old) }
    nextSequence += 1
    done[key] = Entry(placement: placement, atMs: atMs, sequence: nextSequence)
    order.append((key, nextSequence))
    bytes += Self.cost(key, placement)
    while bytes > maxBytes, let oldest = order.popFirst() {
      guard let entry = done[oldest.key], entry.sequence == oldest.sequence else { continue }
      forget(oldest.key, entry)
      evicted += 1
    }
  }

  private func forget(_ key: String, _ entry: Entry) {
    done[key] = nil
    bytes -= Self.cost(key, entry.placement)
  }

  /// Drops queued keys that were forgotten or stored again, and puts the rest oldest first.
  private func compactOrder() {
    let live = done.sorted { $0.value.atMs < $1.value.atMs }
    order = CircularBuffer(live.map { ($0.key, $0.value.sequence) })
  }

  /// Rebuilds the index from the records this connector wrote inside the window, oldest first
  /// (``SourceTaskContext/recentlyWritten(maxAge:maxCount:)``).
  func rebuild(from records: [Record], nowMs: Int64) {
    for record in records {
      guard nowMs.saturatingMinus(record.timestamp) <= windowMs,
        let key = record.header(Self.header)
      else { continue }
      let text = String(decoding: key, as: UTF8.self)
      if done[text] == nil {
        remember(
          text,
          Placement(topic: record.topic, partition: record.partition, offset: record.offset),
          atMs: record.timestamp)
      }
    }
    compactOrder()
  }
}
