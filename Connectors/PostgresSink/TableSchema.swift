import Foundation
import SluicePostgres

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
  /// How JSON values become the column's text; the temporal and numeric cases read Debezium's
  /// encodings (``DebeziumValueText``).
  enum Encoding: Equatable {
    case text, json, bytea, array, date, interval, money
    /// `time(p)`, `timestamp(p)`: numbers are milliseconds when p ≤ 3, else microseconds.
    case time(millis: Bool)
    case timestamp(millis: Bool)
    /// `numeric(p, s)`: `scale` nil without a declared scale.
    case numeric(scale: Int?)
  }
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
      SELECT a.attname, format_type(a.atttypid, a.atttypmod), b.typcategory, b.typname,
        (CASE WHEN a.atttypmod = -1 AND t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END)::text
      FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum
      """, [table.quoted])
    var columns: [String: TableColumn] = [:]
    for row in rows {
      guard let name = row[0], let type = row[1] else { continue }
      let modifier = row[4].flatMap { Int($0) } ?? -1
      let precision = modifier >= 0 ? modifier : 6
      let encoding: TableColumn.Encoding =
        switch (row[2], row[3]) {
        case ("A", _): .array
        case (_, "json"), (_, "jsonb"): .json
        case (_, "bytea"): .bytea
        case (_, "date"): .date
        case (_, "time"): .time(millis: precision <= 3)
        case (_, "timestamp"): .timestamp(millis: precision <= 3)
        case (_, "interval"): .interval
        case (_, "money"): .money
        case (_, "numeric"):
          .numeric(scale: modifier >= 4 ? ((((modifier - 4) & 0x7FF) ^ 1024) - 1024) : nil)
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
