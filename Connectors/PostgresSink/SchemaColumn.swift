import SluiceCore
import SluicePostgres

/// A column as a record's Kafka Connect schema describes it (the JSON converter's
/// `{"schema","payload"}`, e.g. from a `postgres-cdc` source with `schemas: true`): the type
/// Debezium's JDBC sink (PostgreSQL dialect) gives it, how its values are encoded, whether it
/// may be null, and its default. `auto_create` and `auto_evolve` make columns from it.
struct SchemaColumn: Equatable {
  var type: String
  var encoding: TableColumn.Encoding
  var optional = true
  /// The schema's `default`, as JSON in the encoding the column's values have.
  var defaultJSON: String? = nil

  /// Types extensions add that a schema can ask for: a Connect map of strings is an `hstore`,
  /// Debezium's Ltree an `ltree`. A column gets one only when the target database has it
  /// (else `jsonb` and `text`), where Debezium's JDBC sink would fail to create the table.
  static let extensionTypes = ["hstore", "ltree"]

  /// `"name" type [DEFAULT …] [NOT NULL]`. With `notNull` false NOT NULL is left out unless
  /// there is a default: a column added to a table that has rows can be NOT NULL only then.
  func definition(_ name: String, notNull: Bool) -> String {
    var text = "\(quoteIdentifier(name)) \(type)"
    let literal = defaultLiteral
    if let literal { text += " DEFAULT \(literal)" }
    if !optional && (notNull || literal != nil) { text += " NOT NULL" }
    return text
  }

  /// The default as a string literal of the column's text (Debezium's encodings decoded as
  /// values are); nil without one.
  var defaultLiteral: String? {
    guard let defaultJSON, let first = defaultJSON.utf8.first else { return nil }
    let bytes = Array(defaultJSON.utf8)
    let kind = JSONObjectReader.kind(of: first)
    guard kind != .null else { return nil }
    let value = FieldValue(column: "", bytes: bytes, range: 0..<bytes.count, kind: kind)
    return Self.sqlLiteral(String(decoding: CopyText.text(of: value, for: encoding), as: UTF8.self))
  }

  /// `'text'` with its quotes doubled; `E'…'` with backslashes doubled too when it has any, so
  /// it reads the same whatever `standard_conforming_strings` says.
  static func sqlLiteral(_ text: String) -> String {
    let quoted = text.replacingOccurrences(of: "'", with: "''")
    guard text.contains("\\") else { return "'\(quoted)'" }
    return "E'" + quoted.replacingOccurrences(of: "\\", with: "\\\\") + "'"
  }

  /// Which of the ``extensionTypes`` the database behind `connection` has, by the names its
  /// search path resolves (the names `CREATE TABLE` will use).
  static func available(on connection: PostgresConnection) throws -> Set<String> {
    let rows = try connection.execute(
      "SELECT name FROM unnest(string_to_array($1, ',')) AS name WHERE to_regtype(name) IS NOT NULL",
      [extensionTypes.joined(separator: ",")])
    return Set(rows.compactMap { $0.first ?? nil })
  }

  // MARK: - From a schema

  /// The columns a record's schema describes: the fields of a Debezium envelope's `after`
  /// struct, or of the value's own struct, by field name. `available` holds the
  /// ``extensionTypes`` the target database has. Empty without a schema, or with one that is
  /// not a struct.
  static func columns(of schema: FieldValue?, available: Set<String>) -> [String: SchemaColumn] {
    guard let schema, case .object(let parsed)? = JSONValue.parse(Array(schema.raw)),
      var fields = objects(parsed["fields"])
    else { return [:] }
    if let after = fields.first(where: { $0["field"]?.string == "after" }),
      fields.contains(where: { $0["field"]?.string == "op" }),
      let row = objects(after["fields"])
    {
      fields = row
    }
    var columns: [String: SchemaColumn] = [:]
    for field in fields {
      if let name = field["field"]?.string,
        let column = SchemaColumn(schema: field, available: available)
      {
        columns[name] = column
      }
    }
    return columns
  }

  /// The column for values of one field's schema; nil for a schema with no known type.
  /// NOT NULL needs `"optional": false` written out (Connect reads a missing `optional` as
  /// false, but a hand-written schema that leaves it out should not make columns refuse nulls).
  init?(schema: JSONObject, available: Set<String>) {
    guard let (type, encoding) = Self.type(of: schema, available: available) else { return nil }
    self.type = type
    self.encoding = encoding
    optional = schema["optional"] != .bool(false)
    if let value = schema["default"], value != .null { defaultJSON = value.jsonText }
  }

  /// The PostgreSQL type and value encoding for one Connect schema: Debezium's semantic type
  /// where it is known (Connect Decimal → numeric(p,s), io.debezium.time.Date → date, Bits →
  /// bit(n), Point → point…), else the Connect type (int16 → smallint, int32 → integer, int64
  /// → bigint, float → real, double → double precision, boolean, string → text, bytes → bytea,
  /// a map of strings → hstore, arrays of these).
  static func type(of schema: JSONObject, available: Set<String>)
    -> (String, TableColumn.Encoding)?
  {
    let parameters: JSONObject
    if case .object(let object)? = schema["parameters"] {
      parameters = object
    } else {
      parameters = [:]
    }
    func parameter(_ name: String) -> Int? { parameters[name]?.string.flatMap { Int($0) } }
    switch schema["name"]?.string {
    case "org.apache.kafka.connect.data.Decimal":
      let scale = parameter("scale") ?? 0
      if let precision = parameter("connect.decimal.precision"), precision > 0 {
        return ("numeric(\(precision),\(scale))", .numeric(scale: scale))
      }
      // Without a precision (money's) the column still needs the scale to read the unscaled
      // bytes by; 38 digits is the JDBC sink's default precision.
      return scale == 0
        ? ("numeric", .numeric(scale: nil)) : ("numeric(38,\(scale))", .numeric(scale: scale))
    case "io.debezium.data.VariableScaleDecimal": return ("numeric", .numeric(scale: nil))
    case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date", "io.debezium.time.IsoDate":
      return ("date", .date)
    case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time":
      return ("time(3)", .time(millis: true))
    case "io.debezium.time.MicroTime", "io.debezium.time.NanoTime", "io.debezium.time.IsoTime":
      return ("time", .time(millis: false))
    case "io.debezium.time.ZonedTime": return ("timetz", .text)
    case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
      return ("timestamp(3)", .timestamp(millis: true))
    case "io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp",
      "io.debezium.time.IsoTimestamp":
      return ("timestamp", .timestamp(millis: false))
    case "io.debezium.time.ZonedTimestamp": return ("timestamptz", .text)
    case "io.debezium.time.MicroDuration", "io.debezium.time.Interval":
      return ("interval", .interval)
    case "io.debezium.data.Json": return ("jsonb", .json)
    case "io.debezium.data.Uuid": return ("uuid", .text)
    case "io.debezium.data.Xml": return ("xml", .text)
    case "io.debezium.data.Tsvector": return ("tsvector", .text)
    case "io.debezium.data.Ltree": return (available.contains("ltree") ? "ltree" : "text", .text)
    case "io.debezium.data.Bits":
      // `bit varying` without a length is the only varying one the schema tells apart
      // (length 2147483647); bit(n) and bit varying(n) both say n.
      guard let length = parameter("length"), length < Int(Int32.max) else {
        return ("bit varying", .bits(length: nil, varying: true))
      }
      return ("bit(\(length))", .bits(length: length, varying: false))
    case "io.debezium.data.geometry.Point": return ("point", .point)
    default: break
    }
    switch schema["type"]?.string {
    case "int8", "int16": return ("smallint", .text)
    case "int32": return ("integer", .text)
    case "int64": return ("bigint", .text)
    case "float", "float32": return ("real", .text)
    case "double", "float64": return ("double precision", .text)
    case "boolean": return ("boolean", .text)
    case "string": return ("text", .text)
    case "bytes": return ("bytea", .bytea)
    case "struct": return ("jsonb", .json)
    case "map":
      let strings = [schema["keys"], schema["values"]].allSatisfy {
        $0?.object?["type"]?.string == "string"
      }
      return strings && available.contains("hstore") ? ("hstore", .hstore) : ("jsonb", .json)
    case "array":
      guard case .object(let items)? = schema["items"],
        let (element, encoding) = type(of: items, available: available),
        element != "jsonb", !element.hasSuffix("[]")
      else { return ("jsonb", .json) }
      return (element + "[]", .array(of: encoding))
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
