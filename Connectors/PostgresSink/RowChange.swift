import SluiceCore

/// One JSON value of a record, located in the record's bytes (not copied) and named by the
/// column it goes to.
struct FieldValue {
  var column: String
  var bytes: [UInt8]
  var range: Range<Int>
  var kind: JSONMember.Kind

  var raw: ArraySlice<UInt8> { bytes[range] }
}

extension [FieldValue] {
  /// Whether these values go to exactly `columns`, in that order.
  func hasColumns(_ columns: [String]) -> Bool {
    count == columns.count && zip(self, columns).allSatisfy { $0.column == $1 }
  }

  /// Whether these values go to the same columns as `other`, in the same order.
  func hasColumns(of other: [FieldValue]) -> Bool {
    count == other.count && zip(self, other).allSatisfy { $0.column == $1.column }
  }
}

/// What one record asks of its table: write a row, delete a row by key, or truncate.
struct RowChange {
  enum Kind: Equatable { case write, delete, truncate }

  var kind: Kind
  var table: TableName
  /// Primary-key values, in `keyColumns` order (empty when the table has no key here).
  var key: [FieldValue]
  /// Column values to write (key columns included), in the record's order.
  var fields: [FieldValue]
  /// Index of the record in the batch it came from.
  var recordIndex: Int
  /// The JSON converter's schema of the record's value (`{"schema","payload"}`), when it has
  /// one: `auto_create` and `auto_evolve` type columns by it (``SchemaColumn/columns(of:available:)``).
  var schema: FieldValue? = nil

  /// The key as bytes, for folding changes of one row together.
  var keyBytes: [UInt8] {
    var out: [UInt8] = []
    for value in key {
      out += value.raw
      out.append(0)
    }
    return out
  }
}

/// Turns records into ``RowChange``s: flat JSON objects, or Debezium envelopes (also inside
/// the JSON converter's `{"schema", "payload"}` wrapper) unwrapped by their `op`.
struct RowChangeDecoder {
  let config: PostgresSinkConfig
  private let topicTables = TopicTables()
  private let names = JSONNameCache()

  init(config: PostgresSinkConfig) { self.config = config }

  /// Table names already worked out for topics, for records without a Debezium source.
  private final class TopicTables {
    var names: [String: TableName] = [:]
    var last: (String, TableName)?
  }

  /// The change `record` asks for, nil when it asks for nothing (a tombstone with `delete:
  /// false`, a truncate with `truncate: false`, a Debezium message event).
  func change(for record: Record, at index: Int) throws(DecodeError) -> RowChange? {
    let key = try keyValues(of: record)
    guard let value = record.value else {
      guard config.delete else { return nil }
      return RowChange(
        kind: .delete, table: try table(for: record.topic, source: nil),
        key: try requireKey(key, for: "a tombstone (null value)"), fields: [], recordIndex: index)
    }
    // The common case, a flat object: its fields become row values in one pass.
    if config.columns.isEmpty {
      var fields: [FieldValue] = []
      var envelopeLike = false
      let valid = JSONObjectReader.visitMembers(of: value, names: names) { name, range, kind in
        switch name {
        case "op", "after", "before", "payload": envelopeLike = true
        default: break
        }
        fields.append(FieldValue(column: name, bytes: value, range: range, kind: kind))
      }
      guard valid else { throw DecodeError("the value is not a JSON object") }
      if !envelopeLike {
        return try RowChange(
          kind: .write, table: try table(for: record.topic, source: nil), key: key ?? [],
          fields: fields, recordIndex: index
        ).completed(mode: config.mode, primaryKey: config.primaryKey)
      }
    }
    guard var members = JSONObjectReader.members(of: value) else {
      throw DecodeError("the value is not a JSON object")
    }
    let schema = member("schema", of: members).flatMap { m in
      members.count == 2 && m.kind == .object
        ? FieldValue(column: "schema", bytes: value, range: m.value, kind: m.kind) : nil
    }
    // `{"schema": …, "payload": null}` is the JSON converter's null value (what `unwrap`
    // makes of a delete with schemas on): a tombstone, as Kafka Connect sinks read it.
    if schema != nil, member("payload", of: members)?.kind == .null {
      guard config.delete else { return nil }
      return RowChange(
        kind: .delete, table: try table(for: record.topic, source: nil),
        key: try requireKey(key, for: "a null payload"), fields: [], recordIndex: index)
    }
    members = unwrapPayload(members, in: value)
    guard let op = members.first(where: { $0.name == "op" && $0.kind == .string }),
      members.contains(where: { $0.name == "after" || $0.name == "before" })
    else {
      let fields = mapped(members, in: value)
      return try RowChange(
        kind: .write, table: try table(for: record.topic, source: nil), key: key ?? [],
        fields: fields, recordIndex: index, schema: schema
      ).completed(mode: config.mode, primaryKey: config.primaryKey)
    }
    let source = member("source", of: members).flatMap {
      JSONObjectReader.members(of: value, in: $0.value)
    }
    let sourceText: (String) -> String? = { name in
      guard let m = source?.first(where: { $0.name == name }), m.kind == .string else { return nil }
      return JSONObjectReader.string(value, m.value)
    }
    let table = try table(for: record.topic, source: sourceText)
    switch JSONObjectReader.string(value, op.value) {
    case "c", "r", "u":
      guard let after = member("after", of: members), after.kind == .object,
        let fields = JSONObjectReader.members(of: value, in: after.value)
      else {
        throw DecodeError("a Debezium '\(opText(op, value))' event without an 'after' object")
      }
      return try RowChange(
        kind: .write, table: table, key: key ?? [], fields: mapped(fields, in: value),
        recordIndex: index, schema: schema
      ).completed(mode: config.mode, primaryKey: config.primaryKey)
    case "d":
      guard config.delete else { return nil }
      var keyValues = key
      if keyValues == nil, let before = member("before", of: members), before.kind == .object,
        let fields = JSONObjectReader.members(of: value, in: before.value),
        !config.primaryKey.isEmpty
      {
        let named = mapped(fields, in: value)
        keyValues = config.primaryKey.compactMap { c in named.first { $0.column == c } }
        if keyValues?.count != config.primaryKey.count { keyValues = nil }
      }
      return RowChange(
        kind: .delete, table: table, key: try requireKey(keyValues, for: "a delete"), fields: [],
        recordIndex: index)
    case "t":
      guard config.truncate else { return nil }
      return RowChange(kind: .truncate, table: table, key: [], fields: [], recordIndex: index)
    default:
      return nil
    }
  }

  // MARK: - Parts

  private func opText(_ op: JSONMember, _ value: [UInt8]) -> String {
    JSONObjectReader.string(value, op.value) ?? "?"
  }

  private func member(_ name: String, of members: [JSONMember]) -> JSONMember? {
    members.first { $0.name == name }
  }

  /// The JSON converter with schemas wraps every key and value as `{"schema": …, "payload": …}`.
  private func unwrapPayload(_ members: [JSONMember], in bytes: [UInt8]) -> [JSONMember] {
    guard members.count == 2, members.contains(where: { $0.name == "schema" }),
      let payload = member("payload", of: members), payload.kind == .object,
      let inner = JSONObjectReader.members(of: bytes, in: payload.value)
    else { return members }
    return inner
  }

  /// Fields under their column names: the `columns:` mapping when there is one, else all.
  private func mapped(_ members: [JSONMember], in bytes: [UInt8]) -> [FieldValue] {
    guard !config.columns.isEmpty else {
      return members.map {
        FieldValue(column: $0.name, bytes: bytes, range: $0.value, kind: $0.kind)
      }
    }
    return config.columns.compactMap { pair in
      members.first { $0.name == pair.field }.map {
        FieldValue(column: pair.column, bytes: bytes, range: $0.value, kind: $0.kind)
      }
    }
  }

  /// Key values from the record key: a JSON object's fields (in `primary_key` order when it is
  /// set), or a scalar key when `primary_key` names one column. Nil when there is no usable key.
  private func keyValues(of record: Record) throws(DecodeError) -> [FieldValue]? {
    guard let key = record.key, !key.isEmpty else { return nil }
    if var members = JSONObjectReader.members(of: key) {
      members = unwrapPayload(members, in: key)
      let all = members.map {
        FieldValue(column: $0.name, bytes: key, range: $0.value, kind: $0.kind)
      }
      guard !config.primaryKey.isEmpty else { return all }
      let ordered = config.primaryKey.compactMap { c in all.first { $0.column == c } }
      return ordered.count == config.primaryKey.count ? ordered : nil
    }
    guard config.primaryKey.count == 1 else { return nil }
    guard JSONValidator.isValid(key) else {
      // A plain-text key such as `order-17`: take it as a JSON string.
      var quoted: [UInt8] = [UInt8(ascii: "\"")]
      for byte in key {
        if byte < 0x20 { return nil }
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
          quoted.append(UInt8(ascii: "\\"))
        }
        quoted.append(byte)
      }
      quoted.append(UInt8(ascii: "\""))
      return [
        FieldValue(
          column: config.primaryKey[0], bytes: quoted, range: 0..<quoted.count, kind: .string)
      ]
    }
    let first = key.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D } ?? 0
    return [
      FieldValue(
        column: config.primaryKey[0], bytes: key, range: 0..<key.count,
        kind: JSONObjectReader.kind(of: first))
    ]
  }

  private func requireKey(_ key: [FieldValue]?, for what: String) throws(DecodeError)
    -> [FieldValue]
  {
    guard let key, !key.isEmpty else {
      throw DecodeError(
        "\(what) needs a key: give records a JSON object key or set primary_key")
    }
    return key
  }

  /// The table a record goes to: the `table:` template, else the last part of the topic.
  private func table(for topic: String, source: ((String) -> String?)?) throws(DecodeError)
    -> TableName
  {
    // Records of a batch mostly share their topic: without a source the name depends on the
    // topic alone, so it is worked out once per topic and batch.
    if source == nil, let (lastTopic, lastTable) = topicTables.last, lastTopic == topic {
      return lastTable
    }
    if source == nil, let known = topicTables.names[topic] {
      topicTables.last = (topic, known)
      return known
    }
    guard let template = config.table else {
      let name = TableName(
        schema: config.schema, name: String(topic.split(separator: ".").last ?? Substring(topic)))
      topicTables.names[topic] = name
      return name
    }
    var name = ""
    var text: String {
      template.map {
        switch $0 {
        case .literal(let t): t
        case .placeholder(let p): "{\(p)}"
        }
      }.joined()
    }
    for part in template {
      switch part {
      case .literal(let text): name += text
      case .placeholder("topic"): name += topic
      case .placeholder(let p):
        let field = String(p.dropFirst("source.".count))
        if let source {
          guard let text = source(field), !text.isEmpty else {
            throw DecodeError(
              "table template '\(text)' needs {\(p)}, which this record's source does not have")
          }
          name += text
        } else {
          // Tombstones and plain JSON carry no source: Debezium topics end in schema.table.
          let parts = topic.split(separator: ".").map(String.init)
          name += (field == "table" ? parts.last : parts.dropLast().last) ?? topic
        }
      }
    }
    guard !name.isEmpty else { throw DecodeError("table template '\(text)' gave an empty name") }
    let table = TableName(schema: config.schema, name: name)
    if source == nil { topicTables.names[topic] = table }
    return table
  }
}

extension RowChange {
  /// Adds the key's columns to the row, and takes the key from the row when the record has no
  /// key but `primary_key` names columns of the value.
  fileprivate func completed(mode: PostgresSinkConfig.Mode, primaryKey: [String])
    throws(DecodeError)
    -> RowChange
  {
    var change = self
    if change.key.isEmpty, !primaryKey.isEmpty {
      change.key = primaryKey.compactMap { c in fields.first { $0.column == c } }
      if change.key.count != primaryKey.count {
        let missing = primaryKey.filter { c in !fields.contains { $0.column == c } }
        throw DecodeError(
          "primary key column \(missing.map { "'\($0)'" }.joined(separator: ", ")) is in neither the record key nor its value"
        )
      }
    }
    for value in change.key where !change.fields.contains(where: { $0.column == value.column }) {
      change.fields.append(value)
    }
    if mode != .insert && change.key.isEmpty {
      throw DecodeError(
        "mode \(mode.rawValue) needs a key: give records a JSON object key or set primary_key")
    }
    return change
  }
}

/// Why a record cannot become a row change; it becomes a ``SinkRecordError``.
struct DecodeError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
