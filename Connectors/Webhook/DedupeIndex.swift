import SluiceCore

/// Where an accepted webhook went: the answer a repeat of its idempotency key gets.
struct Placement: Sendable, Equatable {
  var topic: String
  var partition: Int
  var offset: Int64

  var json: String {
    var out = "{\"topic\":"
    RecordJSON.appendQuoted(topic, to: &out)
    out += ",\"partition\":\(partition),\"offset\":\(offset)}\n"
    return out
  }
}

/// Idempotency keys seen inside the dedupe window, and the writes still in progress, so that a
/// repeated key — concurrent or later, also after a restart — gets the first answer and writes
/// nothing. The keys live in the records themselves (a header), so the index is rebuilt from
/// the topics at start and is never ahead of what is durable.
actor DedupeIndex {
  static let header = "webhook.idempotency_key"

  private var done: [String: (placement: Placement, atMs: Int64)] = [:]
  private var inFlight: [String: Task<Placement, any Error>] = [:]
  private let windowMs: Int64

  init(windowMs: Int64) { self.windowMs = windowMs }

  /// The first answer for `key`, running `write` only if the key is new. A failed write
  /// forgets the key, so a retry writes again.
  func placement(
    for key: String, nowMs: Int64, write: @escaping @Sendable () async throws -> Placement
  ) async throws
    -> (Placement, replayed: Bool)
  {
    if let seen = done[key], nowMs - seen.atMs <= windowMs { return (seen.placement, true) }
    if let pending = inFlight[key] { return (try await pending.value, true) }
    let task = Task { try await write() }
    inFlight[key] = task
    defer { inFlight[key] = nil }
    let placement = try await task.value
    done[key] = (placement, nowMs)
    return (placement, false)
  }

  /// Forgets keys older than the window.
  func expire(nowMs: Int64) {
    done = done.filter { nowMs - $0.value.atMs <= windowMs }
  }

  var count: Int { done.count }

  /// Rebuilds the index from records this connector wrote inside the window, newest last.
  func rebuild(from store: any TopicStore, connector: String, nowMs: Int64) async throws {
    for topic in try await store.describeTopics() {
      for (partition, bounds) in topic.partitions.enumerated() {
        let tp = TopicPartition(topic.name, partition)
        var end = bounds.end
        // Walk back in windows until the records are older than the dedupe window.
        scan: while end > bounds.start {
          let from = max(bounds.start, end - 1000)
          var next = from
          var oldest = Int64.max
          while next < end {
            let records = try await store.read(
              from: tp, offset: next, maxRecords: Int(end - next), maxBytes: 8 << 20)
            guard let last = records.last else { break }
            for record in records where record.offset < end {
              oldest = min(oldest, record.timestamp)
              guard nowMs - record.timestamp <= windowMs,
                let source = record.header(SourceHeaders.connector),
                source.elementsEqual(connector.utf8),
                let key = record.header(Self.header)
              else { continue }
              let text = String(decoding: key, as: UTF8.self)
              if done[text] == nil {
                done[text] = (
                  Placement(topic: tp.topic, partition: partition, offset: record.offset),
                  record.timestamp
                )
              }
            }
            next = last.offset + 1
          }
          if nowMs - oldest > windowMs { break scan }
          end = from
        }
      }
    }
  }
}
