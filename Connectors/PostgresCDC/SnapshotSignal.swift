import Foundation
import SluiceCore

/// A Debezium signal that concerns incremental snapshots, checked: `execute-snapshot` (the
/// tables, `data-collections`, and per table an optional `additional-conditions` filter),
/// `stop-snapshot`, `pause-snapshot`, `resume-snapshot`. The same parse serves the admin API
/// (a 400 with the reason) and the signal table (a task warning): both reach the task as the
/// same document through the WAL.
enum SnapshotSignal: Equatable {
  /// Read `tables` in chunks while streaming; `filters` narrows a table's rows (SQL).
  case execute(id: String, tables: [QualifiedName], filters: [QualifiedName: String])
  /// Stop the snapshot, or (`tables` given) take those tables out of it.
  case stop(id: String, tables: [QualifiedName]?)
  case pause(id: String)
  case resume(id: String)

  var id: String {
    switch self {
    case .execute(let id, _, _), .stop(let id, _), .pause(let id), .resume(let id): id
    }
  }

  /// A signal type this connector does not act on (Debezium's `log`, `schema-changes`…):
  /// not an error for the signal table, which may serve other readers too.
  static func concerns(type: String) -> Bool {
    ["execute-snapshot", "stop-snapshot", "pause-snapshot", "resume-snapshot"].contains(type)
  }

  /// Checks a signal: `data` is the signal's `data` document (JSON null or absent for the
  /// types that take none).
  static func parse(id: String, type: String, data: JSONValue) throws(SignalError)
    -> SnapshotSignal
  {
    let fields: [String: JSONValue]
    switch data {
    case .object(let object): fields = object.dictionary
    case .null: fields = [:]
    default: throw SignalError("\"data\" must be an object")
    }
    switch type {
    case "execute-snapshot":
      try checkIncremental(fields)
      if let key = fields["surrogate-key"], key != .null, key.string?.isEmpty == false {
        throw SignalError(
          "\"surrogate-key\" is not built in Sluice: incremental snapshots read tables by their primary key"
        )
      }
      guard let tables = try collections(fields["data-collections"]), !tables.isEmpty else {
        throw SignalError(
          "execute-snapshot needs \"data-collections\": a non-empty list of tables like [\"public.orders\"]"
        )
      }
      var filters: [QualifiedName: String] = [:]
      var conditions: [JSONValue] = []
      switch fields["additional-conditions"] {
      case nil, .null?: break
      case .array(let list)?: conditions = list
      default: throw SignalError("\"additional-conditions\" must be a list")
      }
      for condition in conditions {
        guard case .object(let object) = condition,
          let named = object.dictionary["data-collection"]?.string,
          let filter = object.dictionary["filter"]?.string
        else {
          throw SignalError(
            "each of \"additional-conditions\" is {\"data-collection\": \"schema.table\", \"filter\": \"SQL condition\"}"
          )
        }
        guard let table = QualifiedName(parsing: named) else {
          throw SignalError(
            "\"\(named)\" in additional-conditions is not a table name (schema.table)")
        }
        guard tables.contains(table) else {
          throw SignalError(
            "additional-conditions names \(table), which is not in data-collections")
        }
        let trimmed = filter.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw SignalError("the filter for \(table) is empty") }
        // Debezium applies the first condition that matches a table.
        if filters[table] == nil { filters[table] = trimmed }
      }
      return .execute(id: id, tables: tables, filters: filters)
    case "stop-snapshot":
      try checkIncremental(fields)
      return .stop(id: id, tables: try collections(fields["data-collections"]))
    case "pause-snapshot": return .pause(id: id)
    case "resume-snapshot": return .resume(id: id)
    default:
      throw SignalError(
        "signal type \"\(type)\" is not one Sluice acts on (execute-snapshot, stop-snapshot, pause-snapshot, resume-snapshot)"
      )
    }
  }

  /// A whole signal document, `{"id", "type", "data"}`, as the admin API writes it to the WAL.
  static func parse(document bytes: [UInt8]) throws(SignalError) -> SnapshotSignal {
    guard case .object(let object)? = JSONValue.parse(bytes) else {
      throw SignalError("the signal is not a JSON object")
    }
    let fields = object.dictionary
    guard let id = fields["id"]?.string, let type = fields["type"]?.string else {
      throw SignalError("a signal needs \"id\" and \"type\" strings")
    }
    return try parse(id: id, type: type, data: fields["data"] ?? .null)
  }

  /// Debezium's `data.type`: incremental unless said otherwise; blocking is not built.
  private static func checkIncremental(_ fields: [String: JSONValue]) throws(SignalError) {
    guard let type = fields["type"], type != .null else { return }
    guard let text = type.string, text.lowercased() == "incremental" else {
      throw SignalError(
        "snapshot type \(type.jsonText) is not built in Sluice; only \"incremental\" is")
    }
  }

  /// `data-collections` as table names; nil when absent or empty.
  private static func collections(_ value: JSONValue?) throws(SignalError) -> [QualifiedName]? {
    switch value {
    case nil, .null?: return nil
    case .array(let list)?:
      var tables: [QualifiedName] = []
      for item in list {
        guard let text = item.string?.trimmingCharacters(in: .whitespaces),
          let table = QualifiedName(parsing: text)
        else {
          throw SignalError(
            "\"data-collections\" holds \(item.jsonText), which is not a table name (schema.table)")
        }
        if !tables.contains(table) { tables.append(table) }
      }
      return tables.isEmpty ? nil : tables
    default:
      throw SignalError("\"data-collections\" must be a list of table names")
    }
  }
}

/// Why a signal cannot be acted on.
struct SignalError: Error, CustomStringConvertible, Equatable {
  var description: String
  init(_ description: String) { self.description = description }
}
