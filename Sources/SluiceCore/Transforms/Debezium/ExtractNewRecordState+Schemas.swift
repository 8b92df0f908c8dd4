/// `unwrap` on change events in the JSON converter's `{"schema": …, "payload": …}` form (a CDC
/// source with `schemas: true`), as Debezium's ExtractNewRecordState does on Connect's structs
/// before that converter writes them:
///
/// - the value becomes `{"schema": <the row's schema>, "payload": <the row>}`, the row's schema
///   being the envelope's `after` (or `before`) struct, `<topic>.Value`, rebuilt as Kafka's
///   `SchemaUtil.copySchemaBasics` rebuilds it: not optional, no default;
/// - `__deleted` (`rewrite` modes) is an optional string field after the row's columns, and
///   each `add.fields` entry an optional field after that, with the type, name, version and
///   parameters of the envelope member it copies (no default); an entry the envelope's schema
///   does not declare is left out, one it declares but holds null (`transaction.id` outside a
///   transaction, or its default, see ``raw(_:of:)``) is added as null;
/// - a delete in `tombstone` mode keeps the row's schema (optional) with a null payload, which
///   a Kafka Connect consumer reads as a null value; `delete-to-tombstone` makes a real
///   tombstone (no value);
/// - `add.headers` are the same as without schemas.
///
/// A record whose schema is not a change event's (its name does not end in `.Envelope`: a
/// heartbeat, a schema change, a transaction's BEGIN or END) passes unchanged, as in Debezium.
extension ExtractNewRecordState {
  /// A value in the JSON converter's form whose schema is a change event's envelope.
  struct SchemaWrappedEnvelope {
    /// The envelope's struct schema (`<topic>.Envelope`).
    var schema: JSONObject
    var payload: JSONValue

    init?(_ value: JSONValue) {
      guard case .object(let wrapper) = value, wrapper.members.count == 2,
        case .object(let schema)? = wrapper["schema"], let payload = wrapper["payload"]
      else { return nil }
      self.init(schema: schema, payload: payload)
    }

    /// Nil when `schema` is not a change event's (its name does not end in `.Envelope`).
    init?(schema: JSONObject, payload: JSONValue) {
      guard case .string(let name)? = schema["name"], name.hasSuffix(".Envelope") else {
        return nil
      }
      self.schema = schema
      self.payload = payload
    }

    /// The schema of the envelope's member `name` (a field of its struct schema).
    func member(_ name: String) -> JSONObject? {
      Self.field(name, of: schema)
    }

    /// The schema of the envelope member that `field` names, found as Debezium finds it: in
    /// its block's struct, else among the envelope's own members. Nil when neither declares it.
    func schema(of field: EnvelopeField) -> JSONObject? {
      if let block = field.block, let blockSchema = member(block),
        let found = Self.field(field.field, of: blockSchema)
      {
        return found
      }
      return member(field.field)
    }

    static func field(_ name: String, of structure: JSONObject) -> JSONObject? {
      guard case .array(let fields)? = structure["fields"] else { return nil }
      for case .object(let field) in fields where field["field"] == .string(name) {
        return field
      }
      return nil
    }
  }

  /// The record `unwrap` makes of a change event with its schema.
  func apply(_ event: SchemaWrappedEnvelope, to record: inout TransformRecord)
    throws(TransformError) -> Bool
  {
    // A null payload is Connect's null value: a tombstone.
    if event.payload == .null { return keepsTombstone(&record) }
    guard let envelope = ChangeEnvelope(event.payload) else { return true }
    for header in headers {
      guard let schema = event.schema(of: header) else { continue }
      let found = Self.raw(header.value(in: envelope), of: schema)
      record.headers.append(
        RecordHeader(
          name: header.newName, value: found == .null ? nil : Array(found.plainText.utf8)))
    }
    if envelope.after == nil && envelope.before == nil {
      guard envelope.op == "t" else {
        throw TransformError("a '\(envelope.op)' event with neither a row before nor after")
      }
      return false
    }
    if let routeByField {
      let row = envelope.op == "d" ? envelope.before : envelope.after
      if let topic = row?[routeByField], topic != .null {
        record.topic = topic.plainText
      }
    }
    var row: JSONObject
    var rowSchema: JSONObject
    var deleted: String?
    if envelope.op == "d" {
      switch deletes {
      case .drop: return false
      case .tombstone:
        guard tombstoneKeepsSchema else {
          record.value = .json(.null)
          return true
        }
        guard let after = event.member("after") else {
          throw TransformError("the change event's schema declares no 'after'")
        }
        record.value = .json(
          .object(["schema": .object(Self.copy(after, optional: true)), "payload": .null]))
        return true
      case .rewrite:
        guard let before = envelope.before else {
          throw TransformError("a delete event without a 'before' row to rewrite")
        }
        guard let schema = event.member("before") else {
          throw TransformError("the change event's schema declares no 'before'")
        }
        row = before
        rowSchema = schema
        deleted = "true"
      }
    } else {
      guard let after = envelope.after else {
        throw TransformError("a '\(envelope.op)' event without an 'after' row")
      }
      guard let schema = event.member("after") else {
        throw TransformError("the change event's schema declares no 'after'")
      }
      row = after
      rowSchema = schema
      if deletes == .rewrite { deleted = "false" }
    }
    if let deleted { row[Self.deletedField] = .string(deleted) }
    for field in fields {
      guard let schema = event.schema(of: field) else { continue }
      row[field.newName] = Self.raw(field.value(in: envelope), of: schema)
    }
    let valueSchema = valueSchema(of: rowSchema, in: event)
    record.value = .json(.object(["schema": .object(valueSchema), "payload": .object(row)]))
    return true
  }

  /// The schema of the row cut from the envelope's member of schema `rowSchema`: the struct
  /// rebuilt, not optional, with `__deleted` (`rewrite` modes) and the added fields the
  /// envelope's schema declares.
  func valueSchema(of rowSchema: JSONObject, in event: SchemaWrappedEnvelope) -> JSONObject {
    var fieldSchemas = Self.fields(of: rowSchema)
    if deletes == .rewrite {
      Self.set(Self.deletedSchema, named: Self.deletedField, in: &fieldSchemas)
    }
    for field in fields {
      guard let schema = event.schema(of: field) else { continue }
      Self.set(Self.copy(schema, optional: true), named: field.newName, in: &fieldSchemas)
    }
    var valueSchema = Self.copy(rowSchema, optional: false)
    valueSchema["fields"] = .array(fieldSchemas)
    return valueSchema
  }

  /// A tombstone kept (`drop.tombstones: false`, `rewrite-with-tombstone`) with the `op`
  /// header Debezium gives it, or false when tombstones are dropped.
  func keepsTombstone(_ record: inout TransformRecord) -> Bool {
    guard !dropsTombstones else { return false }
    for header in headers where header.name == "op" {
      record.headers.append(RecordHeader(header.newName, "d"))
    }
    return true
  }

  /// The value Debezium copies for an added field or header: the struct's value without its
  /// default (`getWithoutDefault`). The payload shows a null in a member with a default as the
  /// default (the JSON converter's `replace.null.with.default`, which Sluice's source follows),
  /// so the default there reads as the null it stands for — `source.snapshot` is `"false"` in
  /// a streamed event's envelope and a null `__snapshot`, as the real Debezium writes it.
  static func raw(_ value: JSONValue?, of schema: JSONObject) -> JSONValue {
    guard let value else { return .null }
    if let fallback = schema["default"], fallback == value { return .null }
    return value
  }

  /// `__deleted`: Kafka's InsertField adds an optional string.
  private static let deletedSchema: JSONObject = [
    "type": .string("string"), "optional": .bool(true),
  ]

  /// The schema as `SchemaUtil.copySchemaBasics` copies it — type, the members its type has,
  /// name, version, doc, parameters; no default, not a struct's field — with `optional` set,
  /// in the order the JSON converter writes them.
  static func copy(_ schema: JSONObject, optional: Bool) -> JSONObject {
    var out = JSONObject()
    for key in ["type", "fields", "items", "keys", "values"] {
      if let value = schema[key] { out.members.append((key: key, value: value)) }
    }
    out.members.append((key: "optional", value: .bool(optional)))
    for key in ["name", "version", "doc", "parameters"] {
      if let value = schema[key] { out.members.append((key: key, value: value)) }
    }
    return out
  }

  private static func fields(of structure: JSONObject) -> [JSONValue] {
    if case .array(let fields)? = structure["fields"] { fields } else { [] }
  }

  /// Adds `schema` as the struct field `name`, or replaces the field of that name in place
  /// (a column of the name an added field takes: its value is replaced in place too).
  private static func set(_ schema: JSONObject, named name: String, in fields: inout [JSONValue]) {
    var field = schema
    field.members.append((key: "field", value: .string(name)))
    if let index = fields.firstIndex(where: { $0["field"] == .string(name) }) {
      fields[index] = .object(field)
    } else {
      fields.append(.object(field))
    }
  }
}
