import Foundation
import SluiceCore

/// A Debezium signal that concerns snapshots on signal, checked: `execute-snapshot` (the
/// tables, `data-collections`, as names or regular expressions; `type` incremental or
/// blocking; for an incremental one, per table an optional `additional-conditions` filter and
/// a `surrogate-key`), `stop-snapshot`, `pause-snapshot`, `resume-snapshot`. The same parse
/// serves the admin API (a 400 with the reason) and the signal table (a task warning): both
/// reach the task as the same document through the WAL.
enum SnapshotSignal: Equatable {
  /// Read tables: in chunks while streaming goes on, or (blocking) with streaming stopped.
  case execute(Execute)
  /// Stop the snapshot, or (`tables` given) take the tables they select out of it.
  case stop(id: String, tables: [TableSelector]?)
  case pause(id: String)
  case resume(id: String)

  /// An `execute-snapshot` signal.
  struct Execute: Equatable {
    var id: String
    /// Debezium's `type: blocking`: streaming stops while the tables are read.
    var blocking = false
    /// The `data-collections` entries in order: tables named (with their filter) and
    /// expressions still to be matched against the captured tables.
    var tables: [IncrementalSnapshot.Table]
  }

  var id: String {
    switch self {
    case .execute(let execute): execute.id
    case .stop(let id, _), .pause(let id), .resume(let id): id
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
      return .execute(try execute(id: id, fields))
    case "stop-snapshot":
      guard try snapshotType(fields) == .incremental else {
        throw SignalError(
          "stop-snapshot stops incremental snapshots; a blocking one runs to its end")
      }
      return .stop(id: id, tables: try selectors(fields["data-collections"]))
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

  // MARK: - execute-snapshot

  private static func execute(id: String, _ fields: [String: JSONValue]) throws(SignalError)
    -> Execute
  {
    let blocking = try snapshotType(fields) == .blocking
    guard let selectors = try selectors(fields["data-collections"]), !selectors.isEmpty else {
      throw SignalError(
        "execute-snapshot needs \"data-collections\": a non-empty list of tables like [\"public.orders\"] or regular expressions like [\"public\\\\.orders_.*\"]"
      )
    }
    var surrogateKey: String?
    switch fields["surrogate-key"] {
    case nil, .null?: break
    case .string(let text)?:
      let trimmed = text.trimmingCharacters(in: .whitespaces)
      if !trimmed.isEmpty { surrogateKey = trimmed }
    default: throw SignalError("\"surrogate-key\" must be a column name")
    }
    let conditions = try conditions(fields["additional-conditions"], selectors: selectors)
    if blocking, surrogateKey != nil {
      throw SignalError(
        "\"surrogate-key\" applies to incremental snapshots; a blocking snapshot reads tables as the initial snapshot does"
      )
    }
    if blocking, !conditions.isEmpty {
      throw SignalError(
        "\"additional-conditions\" are not built for blocking snapshots in Sluice; use an incremental snapshot to read part of a table"
      )
    }
    var tables: [IncrementalSnapshot.Table] = []
    for selector in selectors {
      var table: IncrementalSnapshot.Table
      if let name = selector.name {
        // Debezium applies the first condition that matches a table.
        table = .init(
          name: name, filter: conditions.first { $0.selector.matches(name) }?.filter)
      } else {
        table = .init(
          pattern: selector.text,
          conditions: conditions.map { .init(collection: $0.selector.text, filter: $0.filter) })
      }
      table.surrogateKey = surrogateKey
      if !tables.contains(where: { $0.isSameEntry(as: table) }) { tables.append(table) }
    }
    return Execute(id: id, blocking: blocking, tables: tables)
  }

  /// `additional-conditions`: a filter per table, named or selected by an expression.
  private static func conditions(_ value: JSONValue?, selectors: [TableSelector])
    throws(SignalError) -> [(selector: TableSelector, filter: String)]
  {
    var list: [JSONValue] = []
    switch value {
    case nil, .null?: return []
    case .array(let items)?: list = items
    default: throw SignalError("\"additional-conditions\" must be a list")
    }
    var conditions: [(selector: TableSelector, filter: String)] = []
    for condition in list {
      guard case .object(let object) = condition,
        let named = object.dictionary["data-collection"]?.string,
        let filter = object.dictionary["filter"]?.string
      else {
        throw SignalError(
          "each of \"additional-conditions\" is {\"data-collection\": \"schema.table\", \"filter\": \"SQL condition\"}"
        )
      }
      let selector: TableSelector
      do {
        selector = try TableSelector(parsing: named)
      } catch {
        throw SignalError("additional-conditions: \(error.description)")
      }
      // Against names only, it can be told now whether the condition applies to anything.
      if let name = selector.name, selectors.allSatisfy({ $0.name != nil }),
        !selectors.contains(where: { $0.name == name })
      {
        throw SignalError(
          "additional-conditions names \(name), which is not in data-collections")
      }
      let trimmed = filter.trimmingCharacters(in: .whitespaces)
      guard !trimmed.isEmpty else { throw SignalError("the filter for \(named) is empty") }
      conditions.append((selector, trimmed))
    }
    return conditions
  }

  private enum SnapshotType { case incremental, blocking }

  /// Debezium's `data.type`: incremental unless said otherwise, or blocking.
  private static func snapshotType(_ fields: [String: JSONValue]) throws(SignalError)
    -> SnapshotType
  {
    guard let type = fields["type"], type != .null else { return .incremental }
    switch type.string?.lowercased() {
    case "incremental"?: return .incremental
    case "blocking"?: return .blocking
    default:
      throw SignalError(
        "snapshot type \(type.jsonText) is not one Sluice knows: \"incremental\" or \"blocking\"")
    }
  }

  /// `data-collections` as selectors; nil when absent or empty.
  private static func selectors(_ value: JSONValue?) throws(SignalError) -> [TableSelector]? {
    switch value {
    case nil, .null?: return nil
    case .array(let list)?:
      var selectors: [TableSelector] = []
      for item in list {
        guard let text = item.string else {
          throw SignalError(
            "\"data-collections\" holds \(item.jsonText), which is not a table name or a regular expression (a string)"
          )
        }
        let selector = try TableSelector(parsing: text)
        if !selectors.contains(selector) { selectors.append(selector) }
      }
      return selectors.isEmpty ? nil : selectors
    default:
      throw SignalError("\"data-collections\" must be a list of table names or regular expressions")
    }
  }
}

/// Why a signal cannot be acted on.
struct SignalError: Error, CustomStringConvertible, Equatable {
  var description: String
  init(_ description: String) { self.description = description }
}
