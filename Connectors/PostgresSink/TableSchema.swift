import SluicePostgres
import Foundation

/// A schema-qualified table name; SQL always sees it quoted, so any name is safe.
struct TableName: Hashable, CustomStringConvertible {
  var schema: String
  var name: String

  var quoted: String { "\(quoteIdentifier(schema)).\(quoteIdentifier(name))" }
  var description: String { "\(schema).\(name)" }
}

/// `"name"` with embedded quotes doubled: the only way identifiers reach SQL text.
func quoteIdentifier(_ name: String) -> String {
  "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// What the sink knows of one column: enough to encode JSON values for it.
struct TableColumn {
  enum Encoding { case text, json, bytea, array }
  var name: String
  var type: String
  var encoding: Encoding
}

/// The columns of one target table as PostgreSQL reports them, and the session's staging
/// table for merges and deletes (a temporary copy of the table's columns).
struct TableSchema {
  var table: TableName
  var columns: [String: TableColumn]
  var staging: String?

  /// Reads the table's columns; empty when the table does not exist.
  static func load(_ table: TableName, on connection: PostgresConnection) throws -> TableSchema {
    let rows = try connection.execute(
      """
      SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory, t.typname
      FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum
      """, [table.quoted])
    var columns: [String: TableColumn] = [:]
    for row in rows {
      guard let name = row[0], let type = row[1] else { continue }
      let encoding: TableColumn.Encoding =
        switch (row[2], row[3]) {
        case ("A", _): .array
        case (_, "json"), (_, "jsonb"): .json
        case (_, "bytea"): .bytea
        default: .text
        }
      columns[name] = TableColumn(name: name, type: type, encoding: encoding)
    }
    return TableSchema(table: table, columns: columns, staging: nil)
  }

  /// The column type `auto_create` and `auto_evolve` give a JSON value: integers bigint,
  /// other numbers numeric (exact), strings text, booleans boolean, objects and arrays jsonb.
  static func inferredType(of value: FieldValue) -> String {
    switch value.kind {
    case .number:
      return value.raw.contains {
        $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
      }
        ? "numeric" : "bigint"
    case .bool: return "boolean"
    case .object, .array: return "jsonb"
    case .string, .null: return "text"
    }
  }

  /// `CREATE TABLE` for a change's row, with its key as the primary key.
  static func createStatement(for change: RowChange) -> String {
    var seen = Set<String>()
    var definitions: [String] = []
    for value in change.fields where seen.insert(value.column).inserted {
      definitions.append("\(quoteIdentifier(value.column)) \(inferredType(of: value))")
    }
    if !change.key.isEmpty {
      definitions.append(
        "PRIMARY KEY (\(change.key.map { quoteIdentifier($0.column) }.joined(separator: ", ")))")
    }
    return
      "CREATE TABLE IF NOT EXISTS \(change.table.quoted) (\(definitions.joined(separator: ", ")))"
  }
}
