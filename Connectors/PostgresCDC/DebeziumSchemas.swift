import SluiceCore

/// The Kafka Connect schemas Debezium's PostgreSQL connector gives its events (3.x), for
/// `schemas: true`: each column's schema by its type and the conversion options, the table's
/// `<topic>.Key` and `<topic>.Value` structs, and the `<topic>.Envelope` with Debezium's
/// `source` and `transaction` blocks.
///
/// What it cannot know from the Relation message it leaves as Debezium leaves a nullable column
/// without a default: columns outside the primary key are optional, and no `default` is given.
enum DebeziumSchemas {
  /// The schema of a column of type `oid` (`modifier` its `atttypmod`), as Debezium's
  /// PostgresValueConverter builds it under `options`; `optional` as the column is.
  static func column(
    _ oid: UInt32, modifier: Int32 = -1, userTypes: [UInt32: UserType] = [:],
    options: ValueConversionOptions = .debezium, optional: Bool = true, depth: Int = 0
  ) -> ConnectSchema {
    var schema = plain(
      oid, modifier: modifier, userTypes: userTypes, options: options, depth: depth)
    schema.optional = optional
    return schema
  }

  private static func plain(
    _ oid: UInt32, modifier: Int32, userTypes: [UInt32: UserType],
    options: ValueConversionOptions, depth: Int
  ) -> ConnectSchema {
    if let element = ColumnKind.arrayElements[oid] {
      return array(of: element, modifier: modifier, userTypes: userTypes, options: options, depth)
    }
    let time = options.time
    switch oid {
    case 21: return ConnectSchema(type: "int16")
    case 23: return ConnectSchema(type: "int32")
    case 20, 26: return ConnectSchema(type: "int64")
    case 700: return ConnectSchema(type: "float")
    case 701: return ConnectSchema(type: "double")
    case 16: return ConnectSchema(type: "boolean")
    case 1700:
      switch options.decimal {
      case .double: return ConnectSchema(type: "double")
      case .string: return ConnectSchema(type: "string")
      case .precise:
        guard modifier >= 4 else { return variableScaleDecimal }
        let precision = Int((modifier - 4) >> 16) & 0xFFFF
        let scale = ((Int((modifier - 4) & 0x7FF)) ^ 1024) - 1024
        return decimal(scale: scale, precision: precision)
      }
    case 790:
      switch options.decimal {
      case .double: return ConnectSchema(type: "double")
      case .string: return ConnectSchema(type: "string")
      case .precise: return decimal(scale: NumericConversion.moneyScale, precision: nil)
      }
    case 114, 3802: return .named("string", "io.debezium.data.Json")
    case 2950: return .named("string", "io.debezium.data.Uuid")
    case 142: return .named("string", "io.debezium.data.Xml")
    case 3614: return .named("string", "io.debezium.data.Tsvector")
    case 17: return ConnectSchema(type: options.binary == .bytes ? "bytes" : "string")
    case 1082:
      switch time {
      case .isostring: return .named("string", "io.debezium.time.IsoDate")
      case .connect: return .named("int32", "org.apache.kafka.connect.data.Date")
      case .adaptive, .adaptiveTimeMicroseconds: return .named("int32", "io.debezium.time.Date")
      }
    case 1083:
      let precision = modifier >= 0 ? Int(modifier) : 6
      switch time {
      case .isostring: return .named("string", "io.debezium.time.IsoTime")
      case .connect: return .named("int32", "org.apache.kafka.connect.data.Time")
      case .adaptive where precision <= 3: return .named("int32", "io.debezium.time.Time")
      case .adaptive, .adaptiveTimeMicroseconds:
        return .named("int64", "io.debezium.time.MicroTime")
      }
    case 1266: return .named("string", "io.debezium.time.ZonedTime")
    case 1114:
      let precision = modifier >= 0 ? Int(modifier) : 6
      switch time {
      case .isostring: return .named("string", "io.debezium.time.IsoTimestamp")
      case .connect: return .named("int64", "org.apache.kafka.connect.data.Timestamp")
      case .adaptive, .adaptiveTimeMicroseconds:
        return precision <= 3
          ? .named("int64", "io.debezium.time.Timestamp")
          : .named("int64", "io.debezium.time.MicroTimestamp")
      }
    case 1184: return .named("string", "io.debezium.time.ZonedTimestamp")
    case 1186:
      return options.interval == .string
        ? .named("string", "io.debezium.time.Interval")
        : .named("int64", "io.debezium.time.MicroDuration")
    case 1560:
      let length = modifier > 0 ? Int(modifier) : 1
      return length == 1 ? ConnectSchema(type: "boolean") : bits(length: length)
    case 1562: return bits(length: modifier > 0 ? Int(modifier) : Int(Int32.max))
    case 600: return point
    default: break
    }
    guard depth < 16, let user = userTypes[oid] else { return ConnectSchema(type: "string") }
    switch user {
    case .named(let name):
      switch name {
      case "hstore" where options.hstore == .map:
        return ConnectSchema(
          type: "map",
          items: [ConnectSchema(type: "string", optional: false), ConnectSchema(type: "string")])
      case "hstore": return .named("string", "io.debezium.data.Json")
      case "ltree": return .named("string", "io.debezium.data.Ltree")
      default: return ConnectSchema(type: "string")
      }
    case .enumeration(let labels):
      return .named(
        "string", "io.debezium.data.Enum", parameters: [("allowed", labels.joined(separator: ","))])
    case .domain(let base, let baseModifier):
      return plain(
        base, modifier: baseModifier >= 0 ? baseModifier : modifier, userTypes: userTypes,
        options: options, depth: depth + 1)
    case .array(let element):
      return array(of: element, modifier: modifier, userTypes: userTypes, options: options, depth)
    }
  }

  private static func array(
    of element: UInt32, modifier: Int32, userTypes: [UInt32: UserType],
    options: ValueConversionOptions, _ depth: Int
  ) -> ConnectSchema {
    ConnectSchema(
      type: "array",
      items: [
        column(
          element, modifier: modifier, userTypes: userTypes, options: options, depth: depth + 1)
      ])
  }

  /// Connect's Decimal: `scale`, and `connect.decimal.precision` when the column declares one.
  static func decimal(scale: Int, precision: Int?) -> ConnectSchema {
    var parameters = [("scale", "\(scale)")]
    if let precision { parameters.append(("connect.decimal.precision", "\(precision)")) }
    return .named("bytes", "org.apache.kafka.connect.data.Decimal", parameters: parameters)
  }

  static let variableScaleDecimal = ConnectSchema.structure(
    [
      .init(name: "scale", schema: ConnectSchema(type: "int32", optional: false)),
      .init(name: "value", schema: ConnectSchema(type: "bytes", optional: false)),
    ], optional: true, name: "io.debezium.data.VariableScaleDecimal", version: 1,
    doc: "Variable scaled decimal")

  static let point = ConnectSchema.structure(
    [
      .init(name: "x", schema: ConnectSchema(type: "double", optional: false)),
      .init(name: "y", schema: ConnectSchema(type: "double", optional: false)),
      .init(name: "wkb", schema: ConnectSchema(type: "bytes")),
      .init(name: "srid", schema: ConnectSchema(type: "int32")),
    ], optional: true, name: "io.debezium.data.geometry.Point", version: 1,
    doc: "Geometry (POINT)")

  static func bits(length: Int) -> ConnectSchema {
    .named("bytes", "io.debezium.data.Bits", parameters: [("length", "\(length)")])
  }

  // MARK: - A table's schemas

  /// `<topic>.Value`: every column, optional unless it is in the primary key (`keyColumns`)
  /// or `facts` say NOT NULL, with the default `facts` give.
  static func value(
    of relation: PgOutputMessage.Relation, keyColumns: [Int], topic: String,
    userTypes: [UInt32: UserType], options: ValueConversionOptions, facts: ColumnFacts? = nil
  ) -> ConnectSchema {
    .structure(
      relation.columns.enumerated().map { i, column in
        let fact = facts?.columns[column.name]
        var schema = Self.column(
          column.typeOID, modifier: column.typeModifier, userTypes: userTypes,
          options: options, optional: !keyColumns.contains(i) && fact?.notNull != true)
        if let literal = fact?.defaultLiteral {
          var out = JSONWriter()
          ValueConverter.write(
            Array(literal.utf8),
            as: ColumnKind.of(column.typeOID, modifier: column.typeModifier, userTypes: userTypes),
            options: options, to: &out)
          schema.defaultJSON = String(decoding: out.bytes, as: UTF8.self)
        }
        return .init(name: column.name, schema: schema)
      }, optional: true, name: "\(topic).Value")
  }

  /// `<topic>.Key`: the primary-key columns, in key order; nil for a table without a key.
  static func key(
    of relation: PgOutputMessage.Relation, keyColumns: [Int], topic: String,
    userTypes: [UInt32: UserType], options: ValueConversionOptions
  ) -> ConnectSchema? {
    guard !keyColumns.isEmpty else { return nil }
    return .structure(
      keyColumns.map { i in
        let column = relation.columns[i]
        return .init(
          name: column.name,
          schema: Self.column(
            column.typeOID, modifier: column.typeModifier, userTypes: userTypes,
            options: options, optional: false))
      }, optional: false, name: "\(topic).Key")
  }

  /// `<topic>.Envelope` (version 2): before and after (the Value struct), source,
  /// transaction, op, and the event's ts_ms, ts_us, ts_ns.
  static func envelope(value: ConnectSchema, topic: String) -> ConnectSchema {
    .structure(
      [
        .init(name: "before", schema: value),
        .init(name: "after", schema: value),
        .init(name: "source", schema: source),
        .init(name: "transaction", schema: transaction),
        .init(name: "op", schema: ConnectSchema(type: "string", optional: false)),
        .init(name: "ts_ms", schema: ConnectSchema(type: "int64")),
        .init(name: "ts_us", schema: ConnectSchema(type: "int64")),
        .init(name: "ts_ns", schema: ConnectSchema(type: "int64")),
      ], optional: false, name: "\(topic).Envelope", version: 2)
  }

  /// `io.debezium.connector.postgresql.Source`, the `source` block's schema.
  static let source: ConnectSchema = {
    func field(_ name: String, _ type: String, optional: Bool) -> ConnectSchema.Field {
      .init(name: name, schema: ConnectSchema(type: type, optional: optional))
    }
    var snapshot = ConnectSchema.named(
      "string", "io.debezium.data.Enum",
      parameters: [
        (
          "allowed",
          "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"
        )
      ])
    snapshot.defaultJSON = "\"false\""
    return .structure(
      [
        field("version", "string", optional: false),
        field("connector", "string", optional: false),
        field("name", "string", optional: false),
        field("ts_ms", "int64", optional: false),
        .init(name: "snapshot", schema: snapshot),
        field("db", "string", optional: false),
        field("sequence", "string", optional: true),
        field("ts_us", "int64", optional: true),
        field("ts_ns", "int64", optional: true),
        field("schema", "string", optional: false),
        field("table", "string", optional: false),
        field("txId", "int64", optional: true),
        field("lsn", "int64", optional: true),
        field("xmin", "int64", optional: true),
        field("origin", "string", optional: true),
        field("origin_lsn", "int64", optional: true),
      ], optional: false, name: "io.debezium.connector.postgresql.Source", version: 1)
  }()

  /// `event.block`, the `transaction` block's schema (declared whether or not
  /// `provide.transaction.metadata` fills it).
  static let transaction = ConnectSchema.structure(
    [
      .init(name: "id", schema: ConnectSchema(type: "string", optional: false)),
      .init(name: "total_order", schema: ConnectSchema(type: "int64", optional: false)),
      .init(name: "data_collection_order", schema: ConnectSchema(type: "int64", optional: false)),
    ], optional: true, name: "event.block", version: 1)

  /// `{"schema":<schema>,"payload":` — what goes before a payload; `}` closes it.
  static func prefix(_ schema: ConnectSchema) -> [UInt8] {
    var out = JSONWriter(capacity: 1024)
    out.raw("{\"schema\":")
    schema.write(to: &out)
    out.raw(",\"payload\":")
    return out.bytes
  }
}

/// What the catalog says of a table's columns that pgoutput's Relation message does not, for
/// the Value schema: NOT NULL (`"optional": false`) and a default that is a constant.
struct ColumnFacts: Equatable, Sendable {
  struct Column: Equatable, Sendable {
    var notNull: Bool
    /// The default's value in the type's text form (what pgoutput would send for it); nil
    /// without a default or for one that is not a constant (`nextval(…)`, `now()`).
    var defaultLiteral: String?
  }

  var columns: [String: Column]

  /// The constant of a default expression as `pg_get_expr` prints it — `5`, `(-1)`,
  /// `'x'::text`, `'2024-01-01'::date`, `true` — or nil for anything else (a function call,
  /// an operator, a non-constant).
  static func literal(ofDefault expression: String) -> String? {
    var text = Substring(expression)
    while text.hasPrefix("("), text.hasSuffix(")") { text = text.dropFirst().dropLast() }
    if text.hasPrefix("'") {
      // 'text'::type (quotes doubled inside), then casts only.
      var value = ""
      var i = text.index(after: text.startIndex)
      while i < text.endIndex {
        if text[i] == "'" {
          let next = text.index(after: i)
          if next < text.endIndex, text[next] == "'" {
            value.append("'")
            i = text.index(after: next)
            continue
          }
          let rest = text[next...]
          guard rest.isEmpty || isCasts(rest) else { return nil }
          return value
        }
        value.append(text[i])
        i = text.index(after: i)
      }
      return nil
    }
    let number = text.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
    let rest = text.dropFirst(number.count)
    guard rest.isEmpty || isCasts(rest) else { return nil }
    if number == "true" || number == "false" { return number == "true" ? "t" : "f" }
    guard !number.isEmpty,
      number.allSatisfy({ $0.isASCII && ($0.isNumber || "-+.eE".contains($0)) }),
      number.contains(where: \.isNumber)
    else { return nil }
    return number
  }

  /// `::type` casts, one or more (`::character varying`, `::numeric(5,2)`).
  private static func isCasts(_ text: Substring) -> Bool {
    text.hasPrefix("::")
      && text.allSatisfy { $0.isLetter || $0.isNumber || " _:(),\"[].".contains($0) }
  }
}
