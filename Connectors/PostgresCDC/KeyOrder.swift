import SluicePostgres

/// SQL that compares a table's primary keys in PostgreSQL's own order (the columns' types and
/// collations), with keys given as Debezium key JSON: a snapshot segment resumes after a key,
/// and the replay filter asks whether a change's key is within a segment's part of the table.
///
/// Each key value is turned back into its column's type from the form ``ValueConverter``
/// wrote it in (days, epoch milliseconds or microseconds, base64 decimals, base64 or hex
/// bytes…), so the comparison is PostgreSQL's whatever the conversion options.
struct KeyOrder: Sendable {
  var table: QualifiedName
  /// The key columns in key order, and how each one's values are written.
  var columns: [(name: String, kind: ColumnKind)]
  var options: ValueConversionOptions = .debezium

  /// The key columns of the row `alias`, comma-separated.
  func columns(alias: String) -> String {
    columns.map { "\(alias).\(quoteIdentifier($0.name))" }.joined(separator: ", ")
  }

  /// The key columns of the Debezium key JSON in parameter `$parameter`, typed as the table's.
  /// A key written with `schemas: true` is `{"schema":…,"payload":{…}}`: its payload is used.
  func key(parameter: Int) -> String { key(source: "$\(parameter)") }

  /// The key columns of the Debezium key JSON `json`, inlined as a literal: for `COPY (SELECT
  /// …)`, which takes no parameters.
  func key(literal json: String) -> String { key(source: quoteLiteral(json)) }

  private func key(source: String) -> String {
    let p = "(\(source))::json"
    let object =
      "(CASE WHEN (\(p))->'schema'->>'type' = 'struct' THEN (\(p))->'payload' ELSE \(p) END)"
    return columns.map { column in
      let json = "\(object)->\(quoteLiteral(column.name))"
      let text = "\(object)->>\(quoteLiteral(column.name))"
      return value(json: json, text: text, kind: column.kind)
        ?? "(json_populate_record(null::\(table.quoted), \(object))).\(quoteIdentifier(column.name))"
    }.joined(separator: ", ")
  }

  /// SQL for one key value written as `kind`; nil where json_populate_record reads the JSON
  /// as it is (numbers, booleans, strings in the type's own text form).
  private func value(json: String, text: String, kind: ColumnKind) -> String? {
    switch kind {
    case .bytea:
      return options.binary == .hex
        ? "decode(\(text), 'hex')" : "decode(translate(\(text), '-_', '+/'), 'base64')"
    case .date where options.time != .isostring:
      return "('1970-01-01'::date + (\(text))::int)"
    case .time(let precision) where options.time != .isostring:
      let millis =
        options.time == .connect || (options.time == .adaptive && precision <= 3)
      return
        "('00:00'::time + (\(text))::bigint * interval '1 \(millis ? "millisecond" : "microsecond")')"
    case .timestamp(let precision) where options.time != .isostring:
      let millis = options.time == .connect || precision <= 3
      return
        "('1970-01-01'::timestamp + (\(text))::bigint * interval '1 \(millis ? "millisecond" : "microsecond")')"
    case .numeric(let scale) where options.decimal == .precise:
      if let scale { return Self.decimal(base64: text, scale: "\(scale)") }
      return Self.decimal(base64: "(\(json))->>'value'", scale: "((\(json))->>'scale')::int")
    case .numeric:
      return "(\(text))::numeric"
    case .money:
      let number =
        options.decimal == .precise
        ? Self.decimal(base64: text, scale: "\(NumericConversion.moneyScale)")
        : "(\(text))::numeric"
      return "(\(number))::money"
    case .interval where options.interval == .numeric:
      return "((\(text))::bigint * interval '1 microsecond')"
    case .json:
      return "(\(text))::jsonb"
    default:
      return nil
    }
  }

  /// A Connect Decimal (base64 of the unscaled two's complement) as a numeric, in SQL.
  private static func decimal(base64: String, scale: String) -> String {
    // The bytes as an unsigned number, less 256^length when the sign bit is set.
    """
    (SELECT (x.u - CASE WHEN x.first >= 128 THEN power(256::numeric, x.n) ELSE 0 END) \
    / power(10::numeric, \(scale)) FROM (SELECT \
    sum(get_byte(b.v, i)::numeric * power(256::numeric, length(b.v) - 1 - i)) AS u, \
    max(get_byte(b.v, 0)) AS first, max(length(b.v)) AS n \
    FROM (SELECT decode(\(base64), 'base64') AS v) b, generate_series(0, length(b.v) - 1) i) x)
    """
  }

  /// Whether `key` sorts at or before `boundary` (both Debezium key JSON).
  func isKey(_ key: String, atOrBefore boundary: String, on connection: PostgresConnection) throws
    -> Bool
  {
    try connection.execute(
      "SELECT (\(self.key(parameter: 1))) <= (\(self.key(parameter: 2)))", [key, boundary]
    ).first?.first == "t"
  }
}
