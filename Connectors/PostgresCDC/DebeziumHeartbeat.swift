import SluiceCore

/// Debezium's heartbeat records (`heartbeat.interval.ms`): every interval a record keyed
/// `{"serverName":"<server>"}` whose value is `{"ts_ms":<now>}`, to
/// `__debezium-heartbeat.<server>`, so consumers see the connector alive while the captured
/// tables are idle. Sluice writes them beside its WAL heartbeat (which lets the slot advance).
/// The server is Debezium's `topic.prefix` (``CDCConfig/serverName``). With `schemas: true`
/// key and value are in the JSON converter's form, with Debezium's schemas
/// `io.debezium.connector.common.ServerNameKey` and `io.debezium.connector.common.Heartbeat`.
///
/// A heartbeat record has no source position: it is not a change, so it is never taken for
/// one already written after a restart, never moves the committed position (a later change
/// could otherwise look already written), and is not deduplicated (a replay writes new ones).
struct DebeziumHeartbeat: Sendable {
  /// Debezium's `topic.heartbeat.prefix` default.
  static let defaultPrefix = "__debezium-heartbeat"

  let topic: String
  /// `{"serverName":"<server>"}`, the same for every record.
  let key: [UInt8]
  let schemas: Bool
  let interval: Duration
  private var lastMilliseconds: Int64?

  init(topic: String, serverName: String, schemas: Bool = false, interval: Duration) {
    self.topic = topic
    self.schemas = schemas
    var key = JSONWriter(capacity: 32)
    if schemas { key.raw(Self.keySchema) }
    key.raw("{\"serverName\":")
    key.string(serverName)
    key.byte("}")
    if schemas { key.byte("}") }
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
    var value = JSONWriter(capacity: schemas ? 220 : 24)
    if schemas { value.raw(Self.valueSchema) }
    value.raw("{\"ts_ms\":")
    value.number(milliseconds)
    value.byte("}")
    if schemas { value.byte("}") }
    return SourceRecord(
      topic: topic, key: key, value: value.bytes, timestamp: milliseconds, position: nil)
  }

  /// `{"schema":<ServerNameKey>,"payload":` — the key's opening in the JSON converter's form.
  private static let keySchema: StaticString =
    #"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"serverName"}],"optional":false,"name":"io.debezium.connector.common.ServerNameKey","version":1},"payload":"#
  /// `{"schema":<Heartbeat>,"payload":` — the value's opening.
  private static let valueSchema: StaticString =
    #"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat","version":1},"payload":"#
}
