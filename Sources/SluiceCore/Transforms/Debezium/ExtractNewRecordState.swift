/// Debezium's ExtractNewRecordState (`unwrap`): replaces a change event's envelope with the row
/// it describes — `after` for creates, reads and updates — so that sinks which want flat rows
/// get them. Deletes and tombstones are handled as `delete.tombstone.handling.mode` says;
/// metadata from the envelope can be added as fields (`add.fields`) or headers (`add.headers`).
///
/// Records that are not change events (heartbeats, schema changes, message events) pass
/// unchanged and truncate events (no row before or after) are dropped, as in Debezium. Events
/// in the JSON converter's `{"schema","payload"}` form get the row's schema with the row
/// (`ExtractNewRecordState+Schemas`). `replace.null.with.default` is accepted and has no
/// effect: Sluice's CDC source already writes a NULL in a column with a default as the
/// default, as Kafka Connect's JSON converter does by default.
public struct ExtractNewRecordState: Transform {
  /// What becomes of a delete event.
  public enum DeleteHandling: Sendable, Equatable {
    case drop
    /// A record with the delete's key and a null value.
    case tombstone
    /// The `before` row with `__deleted: "true"` (and `__deleted: "false"` on other rows).
    case rewrite
  }

  // Readable outside SluiceCore so that a source can render what this transform would make
  // (``TransformFusingSource``).
  public internal(set) var deletes: DeleteHandling
  /// Whether the tombstones the connector writes after deletes are dropped.
  public internal(set) var dropsTombstones: Bool
  /// With ``DeleteHandling/tombstone``: whether a delete in the `{"schema","payload"}` form
  /// keeps the row's schema with a null payload (Debezium's `tombstone`) rather than becoming
  /// a real tombstone (`delete-to-tombstone`). Without schemas both are a null value.
  public internal(set) var tombstoneKeepsSchema = true
  public internal(set) var fields: [EnvelopeField]
  public internal(set) var headers: [EnvelopeField]
  public internal(set) var routeByField: String?
  /// The row schemas of the envelope schemas seen, for the bytes path with schemas.
  let schemaCache = UnwrapSchemaCache()

  public static let deletedField = "__deleted"

  static let options = [
    "delete.tombstone.handling.mode", "delete.handling.mode", "drop.tombstones", "add.fields",
    "add.fields.prefix", "add.headers", "add.headers.prefix", "route.by.field",
    "replace.null.with.default",
  ]

  static let type = TransformType(
    names: ["unwrap", "io.debezium.transforms.ExtractNewRecordState"]
  ) { options throws(ConfigError) in
    try options.refuseKeySide()
    try options.checkKnown(Self.options)
    var transform = ExtractNewRecordState(
      deletes: .tombstone, dropsTombstones: true, fields: [], headers: [], routeByField: nil)
    let legacy = ["delete.handling.mode", "drop.tombstones"].filter { options.string($0) != nil }
    if options.string("delete.tombstone.handling.mode") != nil {
      if let key = legacy.first {
        throw options.error(
          key,
          "'\(key)' is the older form of 'delete.tombstone.handling.mode'; give one or the other")
      }
      let mode = try options.oneOf(
        "delete.tombstone.handling.mode",
        ["tombstone", "drop", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone"],
        default: "tombstone")
      switch mode {
      case "drop": transform.deletes = .drop
      case "rewrite": transform.deletes = .rewrite
      case "rewrite-with-tombstone":
        transform.deletes = .rewrite
        transform.dropsTombstones = false
      case "delete-to-tombstone":
        transform.deletes = .tombstone
        transform.tombstoneKeepsSchema = false
      default: transform.deletes = .tombstone
      }
    } else {
      switch try options.oneOf(
        "delete.handling.mode", ["none", "drop", "rewrite"], default: "none")
      {
      case "drop": transform.deletes = .drop
      case "rewrite": transform.deletes = .rewrite
      default: transform.deletes = .tombstone
      }
      transform.dropsTombstones = try options.bool("drop.tombstones", default: true)
    }
    _ = try options.bool("replace.null.with.default", default: true)
    transform.fields = try EnvelopeField.list(
      options, "add.fields", prefix: options.string("add.fields.prefix", default: "__"))
    transform.headers = try EnvelopeField.list(
      options, "add.headers", prefix: options.string("add.headers.prefix", default: "__"))
    if let field = options.string("route.by.field"), !field.isEmpty {
      transform.routeByField = field
    }
    return transform
  }

  public func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    if case .bytes(let bytes?) = record.value, let kept = try applyToBytes(bytes, of: &record) {
      return kept
    }
    let value = try record.value.json()
    // The connector's tombstone after a delete.
    if value == .null { return keepsTombstone(&record) }
    if let event = SchemaWrappedEnvelope(value) { return try apply(event, to: &record) }
    guard let envelope = ChangeEnvelope(value) else { return true }
    // A truncate has neither row: Debezium drops it.
    if envelope.after == nil && envelope.before == nil {
      guard envelope.op == "t" else {
        throw TransformError("a '\(envelope.op)' event with neither a row before nor after")
      }
      return false
    }
    for header in headers {
      if let found = header.value(in: envelope) {
        record.headers.append(
          RecordHeader(
            name: header.newName, value: found == .null ? nil : Array(found.plainText.utf8)))
      }
    }
    if let routeByField {
      let row = envelope.op == "d" ? envelope.before : envelope.after
      if let topic = row?[routeByField], topic != .null {
        record.topic = topic.plainText
      }
    }
    var row: JSONObject
    if envelope.op == "d" {
      switch deletes {
      case .drop: return false
      case .tombstone:
        record.value = .json(.null)
        return true
      case .rewrite:
        guard let before = envelope.before else {
          throw TransformError("a delete event without a 'before' row to rewrite")
        }
        row = before
        row[Self.deletedField] = .string("true")
      }
    } else {
      guard let after = envelope.after else {
        throw TransformError("a '\(envelope.op)' event without an 'after' row")
      }
      row = after
      if deletes == .rewrite { row[Self.deletedField] = .string("false") }
    }
    for field in fields {
      if let found = field.value(in: envelope) { row[field.newName] = found }
    }
    record.value = .json(.object(row))
    return true
  }
}

/// A field of the envelope named in `add.fields` or `add.headers`: `op`, `ts_ms` (the envelope's
/// own), `source.ts_ms` or plain `table`, `lsn` (the `source` block's), `transaction.id` or
/// plain `id`, `total_order`, `data_collection_order` (the `transaction` block's); `name:alias`
/// renames it. Added as `<prefix><name>`, `<prefix><block>_<name>` when the block is written,
/// or `<prefix><alias>`.
///
/// `source.snapshot` of a streamed change reads `"false"` in the envelope: the JSON converter's
/// default for the null Debezium's source struct holds there. Debezium copies the field
/// without its default, so `"false"` is added as null (as the real Debezium 3.6 writes it).
public struct EnvelopeField: Sendable, Equatable {
  /// The field as written before any alias (`source.ts_ms`), for matching.
  public internal(set) var name: String
  /// `newName` in UTF-8, and `"<newName>":` as it is spliced into a row.
  public internal(set) var nameBytes: [UInt8] = []
  public internal(set) var member: [UInt8] = []
  /// The block holding it (`source`, `transaction`), nil for the envelope's own fields.
  public internal(set) var block: String?
  public internal(set) var field: String
  public internal(set) var newName: String

  init?(_ text: String, prefix: String) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard parts.count <= 2, let path = parts.first, !path.isEmpty else { return nil }
    let steps = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard steps.count <= 2, steps.allSatisfy({ !$0.isEmpty }) else { return nil }
    name = path
    field = steps.last!
    if steps.count == 2 {
      block = steps[0]
    } else {
      switch field {
      case "op", "ts_ms", "ts_us", "ts_ns": block = nil
      case "id", "total_order", "data_collection_order": block = "transaction"
      default: block = "source"
      }
    }
    if parts.count == 2 {
      guard !parts[1].isEmpty else { return nil }
      newName = prefix + parts[1]
    } else {
      newName = prefix + (steps.count == 2 ? "\(steps[0])_\(field)" : field)
    }
    nameBytes = Array(newName.utf8)
    member = JSONValue.string(newName).jsonBytes + [UInt8(ascii: ":")]
  }

  static func list(_ options: TransformOptions, _ key: String, prefix: String) throws(ConfigError)
    -> [EnvelopeField]
  {
    var fields: [EnvelopeField] = []
    for item in options.list(key) {
      guard let field = EnvelopeField(item, prefix: prefix) else {
        throw options.error(
          key, "'\(item)' is not a field: write 'name', 'block.name' or either with ':alias'")
      }
      fields.append(field)
    }
    return fields
  }

  /// Whether this is `source.snapshot`, whose `"false"` is added as null.
  var isSourceSnapshot: Bool { block == "source" && field == "snapshot" }

  /// The field's value; nil when the envelope does not have it (a block that is there but null,
  /// such as `transaction` during a snapshot, gives null). Looked up in the envelope itself
  /// when its block lacks it (a field an earlier transform added).
  func value(in envelope: ChangeEnvelope) -> JSONValue? {
    guard let block else { return envelope.object[field] }
    switch envelope.object[block] {
    case .object(let parent)?:
      if isSourceSnapshot, parent[field] == .string("false") { return .null }
      return parent[field] ?? envelope.object[field]
    case .null?:
      return .null
    default:
      return envelope.object[field]
    }
  }
}

extension ExtractNewRecordState {
  /// The value of an `add.headers` header whose envelope member is the JSON `json`, as the
  /// transform writes it (a string's text, other values as JSON, null as no value): for a
  /// source that renders the transform's records itself (``TransformFusingSource``).
  public static func headerValue(fromJSON json: [UInt8]) -> [UInt8]? {
    guard let value = JSONValue.parse(json), value != .null else { return nil }
    return Array(value.plainText.utf8)
  }
}
