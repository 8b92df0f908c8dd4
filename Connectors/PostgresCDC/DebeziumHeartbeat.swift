import SluiceCore

/// Debezium's heartbeat records (`heartbeat.interval.ms`): every interval a record keyed
/// `{"serverName":"<prefix>"}` whose value is `{"ts_ms":<now>}`, to
/// `__debezium-heartbeat.<prefix>`, so consumers see the connector alive while the captured
/// tables are idle. Sluice writes them beside its WAL heartbeat (which lets the slot advance).
///
/// A heartbeat record has no source position: it is not a change, so it is never taken for
/// one already written after a restart, never moves the committed position (a later change
/// could otherwise look already written), and is not deduplicated (a replay writes new ones).
struct DebeziumHeartbeat: Sendable {
  /// Debezium's `topic.heartbeat.prefix` default.
  static let defaultPrefix = "__debezium-heartbeat"

  let topic: String
  /// `{"serverName":"<name>"}`, the same for every record.
  let key: [UInt8]
  let interval: Duration
  private var lastMilliseconds: Int64?

  init(topic: String, serverName: String, interval: Duration) {
    self.topic = topic
    var key = JSONWriter(capacity: 32)
    key.raw("{\"serverName\":")
    key.string(serverName)
    key.byte("}")
    self.key = key.bytes
    self.interval = interval
  }

  /// The heartbeat record due at `now` (milliseconds since the epoch: the first at once, then
  /// one per interval); nil when none is due.
  mutating func due(now: Int64) -> SourceRecord? {
    if let last = lastMilliseconds, now - last < interval.inMilliseconds { return nil }
    lastMilliseconds = now
    return record(at: now)
  }

  func record(at milliseconds: Int64) -> SourceRecord {
    var value = JSONWriter(capacity: 24)
    value.raw("{\"ts_ms\":")
    value.number(milliseconds)
    value.byte("}")
    return SourceRecord(
      topic: topic, key: key, value: value.bytes, timestamp: milliseconds, position: nil)
  }
}
