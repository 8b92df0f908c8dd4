// Debezium's single message transforms, under Debezium's class names and option names so that
// Debezium's docs and existing connector configs apply to Sluice's CDC records (schemaless JSON
// in Debezium's envelope: `before`, `after`, `source`, `op`, `ts_ms`).

extension TransformCatalog {
  /// ExtractNewRecordState (`unwrap`), the outbox EventRouter and ByLogicalTableRouter.
  static let debezium: [TransformType] = [
    ExtractNewRecordState.type, EventRouter.type, ByLogicalTableRouter.type,
  ]
}

/// A Debezium change event's value: an object with a string `op` and a `before` or `after`.
/// Anything else (a heartbeat's `{"ts_ms": …}`, a schema change, a tombstone) is not one, and
/// Debezium's transforms pass such records unchanged.
struct ChangeEnvelope {
  var object: JSONObject
  var op: String

  init?(_ value: JSONValue) {
    guard case .object(let object) = value, case .string(let op)? = object["op"],
      object["after"] != nil || object["before"] != nil
    else { return nil }
    self.object = object
    self.op = op
  }

  /// The row after the change; nil when it is null or missing (a delete).
  var after: JSONObject? {
    if case .object(let row)? = object["after"] { row } else { nil }
  }

  /// The row before the change, as far as the table's replica identity tells.
  var before: JSONObject? {
    if case .object(let row)? = object["before"] { row } else { nil }
  }
}

extension TransformOptions {
  /// Debezium's transforms have no `$Key`/`$Value` forms: they read the whole record.
  func refuseKeySide() throws(ConfigError) {
    guard side == .value else {
      throw error(
        "type", "transform '\(alias)' has no $Key form: it works on the whole change event")
    }
  }
}
