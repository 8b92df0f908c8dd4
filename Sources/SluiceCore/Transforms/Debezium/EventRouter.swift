import Foundation

/// Debezium's outbox EventRouter (`event_router`): turns the change events of an outbox table
/// (`id`, `aggregatetype`, `aggregateid`, `type`, `payload`) into the events they carry. The
/// topic comes from the `route.by.field` column through `route.topic.regex` and
/// `route.topic.replacement` (`outbox.event.${routedByValue}`), the key from the
/// `table.field.event.key` column, the value from the payload column, and the event id goes in
/// the `id` header.
///
/// As in Debezium: inserts (and snapshot reads) are events, timestamped with the envelope's
/// `ts_ms` (or the `table.field.event.timestamp` column, epoch milliseconds); deletes of outbox
/// rows and tombstones are dropped (an outbox is cleaned up by deleting what was sent); an
/// update is not expected and is dropped (`table.op.invalid.behavior: warn` or `error`) or a
/// record error (`fatal`); records that are not change events pass unchanged.
struct EventRouter: Transform {
  /// Where `table.fields.additional.placement` puts a column.
  enum Placement: Sendable, Equatable {
    case header
    /// Beside the payload: the value becomes `{"payload": …, "<alias>": …}`.
    case envelope
    case partition
  }

  struct Additional: Sendable, Equatable {
    var column: String
    var placement: Placement
    var name: String
  }

  var idColumn: String
  var keyColumn: String?
  var payloadColumn: String
  var typeColumn: String
  var timestampColumn: String?
  var routeByColumn: String
  var topicRegex: NSRegularExpression
  var topicReplacement: String
  var additional: [Additional]
  var expandsJSONPayload: Bool
  var tombstoneOnEmptyPayload: Bool
  var failsOnUpdates: Bool

  static let options = [
    "table.field.event.id", "table.field.event.key", "table.field.event.payload",
    "table.field.event.type", "table.field.event.timestamp", "route.by.field",
    "route.topic.regex", "route.topic.replacement", "route.tombstone.on.empty.payload",
    "table.fields.additional.placement", "table.expand.json.payload", "table.op.invalid.behavior",
  ]

  static let type = TransformType(
    names: ["event_router", "io.debezium.transforms.outbox.EventRouter"]
  ) { options throws(ConfigError) in
    try options.refuseKeySide()
    try options.checkKnown(Self.options)
    let pattern = options.string("route.topic.regex", default: "(?<routedByValue>.*)")
    let regex: NSRegularExpression
    do {
      regex = try NSRegularExpression(pattern: "^(?:\(pattern))$")
    } catch {
      throw options.error(
        "route.topic.regex", "not a valid regular expression: \(error.localizedDescription)")
    }
    var additional: [Additional] = []
    for item in options.list("table.fields.additional.placement") {
      let parts = item.split(separator: ":", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      let placement: Placement? =
        switch parts.count >= 2 ? parts[1] : "" {
        case "header": .header
        case "envelope": .envelope
        case "partition": .partition
        default: nil
        }
      guard (2...3).contains(parts.count), !parts[0].isEmpty, let placement,
        parts.count == 2 || !parts[2].isEmpty
      else {
        throw options.error(
          "table.fields.additional.placement",
          "'\(item)' is not 'column:header', 'column:envelope' or 'column:partition' (with ':alias')"
        )
      }
      additional.append(
        Additional(
          column: parts[0], placement: placement, name: parts.count == 3 ? parts[2] : parts[0]))
    }
    let key = options.string("table.field.event.key", default: "aggregateid")
    let invalid = try options.oneOf(
      "table.op.invalid.behavior", ["warn", "error", "fatal"], default: "warn")
    return EventRouter(
      idColumn: options.string("table.field.event.id", default: "id"),
      keyColumn: key.isEmpty ? nil : key,
      payloadColumn: options.string("table.field.event.payload", default: "payload"),
      typeColumn: options.string("table.field.event.type", default: "type"),
      timestampColumn: options.string("table.field.event.timestamp").flatMap {
        $0.isEmpty ? nil : $0
      },
      routeByColumn: options.string("route.by.field", default: "aggregatetype"),
      topicRegex: regex,
      topicReplacement: options.string(
        "route.topic.replacement", default: "outbox.event.${routedByValue}"),
      additional: additional,
      expandsJSONPayload: try options.bool("table.expand.json.payload", default: false),
      tombstoneOnEmptyPayload: try options.bool("route.tombstone.on.empty.payload", default: false),
      failsOnUpdates: invalid == "fatal")
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    let value = try record.value.json()
    if value == .null { return false }
    guard let envelope = ChangeEnvelope(value) else { return true }
    switch envelope.op {
    case "c", "r": break
    case "d": return false
    case "u":
      guard failsOnUpdates else { return false }
      throw TransformError("an update of an outbox row: outbox rows are only inserted")
    default: return true
    }
    if case .int(let timestamp)? = envelope.object["ts_ms"] { record.timestamp = timestamp }
    guard let row = envelope.after else {
      throw TransformError("a '\(envelope.op)' event of the outbox without an 'after' row")
    }
    guard let routedBy = row[routeByColumn], routedBy != .null else {
      throw TransformError("the outbox row has no '\(routeByColumn)' to route by")
    }
    let topic = try route(routedBy.plainText)
    guard TopicName.problem(with: topic) == nil else {
      throw TransformError("the topic '\(topic)' it made is not a valid topic name")
    }
    record.topic = topic
    // A row without the key column has no key, as in Debezium.
    record.key = .json(keyColumn.flatMap { row[$0] } ?? .null)
    guard let id = row[idColumn] else {
      throw TransformError("the outbox row has no '\(idColumn)' for the event id")
    }
    record.headers.append(
      RecordHeader(name: "id", value: id == .null ? nil : Array(id.plainText.utf8)))
    guard var payload = row[payloadColumn] else {
      throw TransformError("the outbox row has no '\(payloadColumn)' for the payload")
    }
    if expandsJSONPayload, case .string(let text) = payload,
      text.first == "{" || text.first == "[", let parsed = JSONValue.parse(Array(text.utf8))
    {
      // Text that is not a JSON object or array stays text, as in Debezium.
      payload = parsed
    }
    if let timestampColumn {
      switch row[timestampColumn] {
      case .null?: break
      case let value? where value.integer != nil: record.timestamp = value.integer!
      default:
        throw TransformError(
          "the outbox column '\(timestampColumn)' is not a timestamp in epoch milliseconds")
      }
    }
    let empty =
      payload == .null
      || payload.string.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty } == true
    var wrapped = JSONObject()
    for field in additional {
      let found = row[field.column] ?? .null
      switch field.placement {
      case .header:
        record.headers.append(
          RecordHeader(name: field.name, value: found == .null ? nil : Array(found.plainText.utf8)))
      case .envelope:
        wrapped[field.name] = found
      case .partition:
        guard let partition = found.integer, partition >= 0, partition <= Int32.max else {
          throw TransformError("the outbox column '\(field.column)' is not a partition number")
        }
        record.partition = Int(partition)
      }
    }
    if empty && tombstoneOnEmptyPayload {
      record.value = .json(.null)
    } else if wrapped.isEmpty {
      record.value = .json(payload)
    } else {
      wrapped.members.insert((key: "payload", value: payload), at: 0)
      record.value = .json(.object(wrapped))
    }
    return true
  }

  /// The topic for a `route.by.field` value: the replacement with `${name}` and `$n` taken
  /// from the regex's groups; the value itself when the regex does not match it.
  private func route(_ routedBy: String) throws(TransformError) -> String {
    let range = NSRange(routedBy.startIndex..., in: routedBy)
    guard let match = topicRegex.firstMatch(in: routedBy, range: range) else { return routedBy }
    let text = routedBy as NSString
    var out = ""
    var rest = Substring(topicReplacement)
    while let dollar = rest.firstIndex(of: "$") {
      out += rest[..<dollar]
      rest = rest[rest.index(after: dollar)...]
      if rest.first == "{", let close = rest.firstIndex(of: "}") {
        let name = String(rest[rest.index(after: rest.startIndex)..<close])
        let group = match.range(withName: name)
        guard group.location != NSNotFound else {
          throw TransformError("route.topic.replacement names a group '\(name)' the regex lacks")
        }
        out += text.substring(with: group)
        rest = rest[rest.index(after: close)...]
      } else if let digit = rest.first, let n = digit.wholeNumberValue {
        guard n < match.numberOfRanges, match.range(at: n).location != NSNotFound else {
          throw TransformError("route.topic.replacement names a group $\(n) the regex lacks")
        }
        out += text.substring(with: match.range(at: n))
        rest = rest.dropFirst()
      } else {
        out += "$"
      }
    }
    return out + rest
  }
}
