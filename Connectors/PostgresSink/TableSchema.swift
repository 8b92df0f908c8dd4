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

  /// `CREATE TABLE` for a change's row, with its key as the primary key. Columns the record's
  /// schema describes get the type it says (``columnTypes(of:)``), others one inferred from
  /// the value.
  static func createStatement(for change: RowChange) -> String {
    var seen = Set<String>()
    var definitions: [String] = []
    let typed = columnTypes(of: change.schema)
    for value in change.fields where seen.insert(value.column).inserted {
      definitions.append(
        "\(quoteIdentifier(value.column)) \(typed[value.column] ?? inferredType(of: value))")
    }
    if !change.key.isEmpty {
      definitions.append(
        "PRIMARY KEY (\(change.key.map { quoteIdentifier($0.column) }.joined(separator: ", ")))")
    }
    return
      "CREATE TABLE IF NOT EXISTS \(change.table.quoted) (\(definitions.joined(separator: ", ")))"
  }
}

// MARK: - Types from the JSON converter's schema

extension TableSchema {
  /// The column types a record's Kafka Connect schema gives its row's fields: the `after`
  /// struct of a Debezium envelope's schema, or the value's own struct. Debezium's semantic
  /// types decide where they are known (Connect Decimal → numeric(p,s), io.debezium.time.Date
  /// → date, MicroTimestamp → timestamp, ZonedTimestamp → timestamptz, Json → jsonb, Uuid →
  /// uuid…), else the Connect type (int16 → smallint, int32 → integer, int64 → bigint, float →
  /// real, double → double precision, boolean, string → text, bytes → bytea, arrays of these).
  /// Empty without a schema, or with one that is not a struct.
  static func columnTypes(of schema: FieldValue?) -> [String: String] {
    guard let schema, case .object(let parsed)? = JSONValue.parse(Array(schema.raw)),
      var fields = objects(parsed["fields"])
    else { return [:] }
    if let after = fields.first(where: { $0["field"]?.string == "after" }),
      fields.contains(where: { $0["field"]?.string == "op" }),
      let row = objects(after["fields"])
    {
      fields = row
    }
    var types: [String: String] = [:]
    for field in fields {
      if let name = field["field"]?.string, let type = sqlType(of: field) {
        types[name] = type
      }
    }
    return types
  }

  /// The PostgreSQL type for values of one Connect schema.
  static func sqlType(of schema: JSONObject) -> String? {
    let parameters: JSONObject
    if case .object(let object)? = schema["parameters"] { parameters = object } else { parameters = [:] }
    switch schema["name"]?.string {
    case "org.apache.kafka.connect.data.Decimal":
      guard let precision = parameters["connect.decimal.precision"]?.string.flatMap(Int.init),
        let scale = parameters["scale"]?.string.flatMap(Int.init), precision > 0
      else { return "numeric" }
      return "numeric(\(precision),\(scale))"
    case "io.debezium.data.VariableScaleDecimal": return "numeric"
    case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date", "io.debezium.time.IsoDate":
      return "date"
    case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time": return "time(3)"
    case "io.debezium.time.MicroTime", "io.debezium.time.NanoTime", "io.debezium.time.IsoTime":
      return "time"
    case "io.debezium.time.ZonedTime": return "timetz"
    case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
      return "timestamp(3)"
    case "io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp",
      "io.debezium.time.IsoTimestamp":
      return "timestamp"
    case "io.debezium.time.ZonedTimestamp": return "timestamptz"
    case "io.debezium.time.MicroDuration", "io.debezium.time.Interval": return "interval"
    case "io.debezium.data.Json": return "jsonb"
    case "io.debezium.data.Uuid": return "uuid"
    case "io.debezium.data.Xml": return "xml"
    case "io.debezium.data.Tsvector": return "tsvector"
    // Bits arrive as their bytes; a point as {x, y, wkb, srid}.
    case "io.debezium.data.Bits": return "bytea"
    default: break
    }
    switch schema["type"]?.string {
    case "int8", "int16": return "smallint"
    case "int32": return "integer"
    case "int64": return "bigint"
    case "float", "float32": return "real"
    case "double", "float64": return "double precision"
    case "boolean": return "boolean"
    case "string": return "text"
    case "bytes": return "bytea"
    case "struct", "map": return "jsonb"
    case "array":
      guard case .object(let items)? = schema["items"], let element = sqlType(of: items),
        element != "jsonb", !element.hasSuffix("[]")
      else { return "jsonb" }
      return element + "[]"
    default: return nil
    }
  }

  /// The objects of a JSON array (a schema's `fields`); nil when it is not an array of objects.
  private static func objects(_ value: JSONValue?) -> [JSONObject]? {
    guard case .array(let values)? = value else { return nil }
    var objects: [JSONObject] = []
    for value in values {
      guard case .object(let object) = value else { return nil }
      objects.append(object)
    }
    return objects
  }
}
