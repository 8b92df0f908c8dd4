import Foundation
import SluiceCore
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
  /// How JSON values become the column's text; the temporal, numeric and structured cases
  /// read Debezium's encodings (``DebeziumValueText``).
  indirect enum Encoding: Equatable {
    case text, json, bytea, date, interval, money, point, hstore
    /// `time(p)`, `timestamp(p)`: numbers are milliseconds when p ≤ 3, else microseconds.
    case time(millis: Bool)
    case timestamp(millis: Bool)
    /// `numeric(p, s)`: `scale` nil without a declared scale.
    case numeric(scale: Int?)
    /// `bit(n)` (`varying` false), `bit varying(n)`; `length` nil for `bit varying`.
    case bits(length: Int?, varying: Bool)
    /// An array whose elements are encoded as `element` says.
    case array(of: Encoding)

    /// The encoding of a column of the type `typeName` (`pg_type.typname`) with `modifier`
    /// (`atttypmod`, -1 for none).
    init(typeName: String?, modifier: Int) {
      let precision = modifier >= 0 ? modifier : 6
      switch typeName {
      case "json", "jsonb": self = .json
      case "bytea": self = .bytea
      case "date": self = .date
      case "time": self = .time(millis: precision <= 3)
      case "timestamp": self = .timestamp(millis: precision <= 3)
      case "interval": self = .interval
      case "money": self = .money
      case "numeric":
        self = .numeric(scale: modifier >= 4 ? ((((modifier - 4) & 0x7FF) ^ 1024) - 1024) : nil)
      case "bit": self = .bits(length: modifier > 0 ? modifier : 1, varying: false)
      case "varbit": self = .bits(length: modifier > 0 ? modifier : nil, varying: true)
      case "point": self = .point
      case "hstore": self = .hstore
      default: self = .text
      }
    }
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
        (CASE WHEN a.atttypmod = -1 AND t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END)::text,
        e.typname
      FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
      LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum
      """, [table.quoted])
    var columns: [String: TableColumn] = [:]
    for row in rows {
      guard let name = row[0], let type = row[1] else { continue }
      // An array's modifier is its elements' (numeric(10,2)[], time(3)[]).
      let modifier = row[4].flatMap { Int($0) } ?? -1
      let encoding: TableColumn.Encoding =
        row[2] == "A"
        ? .array(of: .init(typeName: row[5], modifier: modifier))
        : .init(typeName: row[3], modifier: modifier)
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

  /// `CREATE TABLE` for a change's row, with its key as the primary key. Columns the record's
  /// schema describes (`described`, from ``SchemaColumn/columns(of:available:)``) get the
  /// type, NOT NULL and default it says, others a type inferred from the value.
  static func createStatement(for change: RowChange, described: [String: SchemaColumn])
    -> String
  {
    var seen = Set<String>()
    var definitions: [String] = []
    for value in change.fields where seen.insert(value.column).inserted {
      definitions.append(
        described[value.column]?.definition(value.column, notNull: true)
          ?? "\(quoteIdentifier(value.column)) \(inferredType(of: value))")
    }
    if !change.key.isEmpty {
      definitions.append(
        "PRIMARY KEY (\(change.key.map { quoteIdentifier($0.column) }.joined(separator: ", ")))")
    }
    return
      "CREATE TABLE IF NOT EXISTS \(change.table.quoted) (\(definitions.joined(separator: ", ")))"
  }
}
