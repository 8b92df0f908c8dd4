import SluiceCore

/// Confluent's and Debezium's JDBC sink connector configs with `jdbc:postgresql:` URLs, run as
/// Sluice's `postgres` sink. Each class keeps its own key names and defaults (Confluent:
/// `connection.user`, `pk.mode`, `auto.create`, batches of 3000; Debezium: `connection.username`,
/// `primary.key.mode`, `schema.evolution`, batches of 500).
enum JDBCSinkTranslators {
  static let confluentClass = "io.confluent.connect.jdbc.JdbcSinkConnector"
  static let debeziumClass = "io.debezium.connector.jdbc.JdbcSinkConnector"

  static func register(in registry: inout ConnectorRegistry) {
    registry.register(
      .translator(
        className: confluentClass, aliases: [], kind: .sink, sluiceType: "postgres",
        definitions: confluentDefinitions, converters: ConnectCommonKeys.jsonConverters,
        readsSchemaEnvelopes: true,
        translate: { t throws(ConfigError) in try translate(t, .confluent) }))
    registry.register(
      .translator(
        className: debeziumClass, aliases: [], kind: .sink, sluiceType: "postgres",
        definitions: debeziumDefinitions, converters: ConnectCommonKeys.jsonConverters,
        readsSchemaEnvelopes: true,
        translate: { t throws(ConfigError) in try translate(t, .debezium) }))
  }

  /// Which vendor's key names and defaults apply.
  enum Dialect {
    case confluent
    case debezium

    var userKey: String { self == .confluent ? "connection.user" : "connection.username" }
    var primaryKeyModeKey: String { self == .confluent ? "pk.mode" : "primary.key.mode" }
    var primaryKeyFieldsKey: String { self == .confluent ? "pk.fields" : "primary.key.fields" }
    var defaultBatchSize: String { self == .confluent ? "3000" : "500" }
  }

  // MARK: - Definitions

  private static let connection = "Connection"
  private static let writes = "Writes"
  private static let tables = "Tables"

  private static func shared(_ dialect: Dialect) -> [ConfigKeyDefinition] {
    [
      .init(
        "connection.url", .string, required: true, importance: .high, group: connection,
        displayName: "JDBC URL",
        "JDBC connection URL: jdbc:postgresql://host[:port]/database[?params]. Sluice translates sslmode, ssl, sslrootcert, sslcert, sslkey, connectTimeout, ApplicationName, options, currentSchema, user and password; other parameters are errors."
      ),
      .init(
        dialect.userKey, .string, importance: .high, group: connection, displayName: "JDBC User",
        "JDBC connection user."),
      .init(
        "connection.password", .password, importance: .high, group: connection,
        displayName: "JDBC Password", "JDBC connection password."),
      .init(
        "insert.mode", .string, default: "insert", importance: .high, group: writes,
        allowed: ["insert", "upsert", "update"],
        "insert: plain inserts; upsert: insert or update by primary key; update: update existing rows."
      ),
      .init(
        "batch.size", .int, default: dialect.defaultBatchSize, importance: .medium, group: writes,
        "Records written per transaction (1 to 100000)."),
      .init(
        "delete.enabled", .boolean, default: "false", importance: .medium, group: writes,
        "Whether to treat null record values (and Debezium deletes) as deletes. Requires \(dialect.primaryKeyModeKey)=record_key."
      ),
      .init(
        dialect.primaryKeyModeKey, .string, default: "none", importance: .high, group: writes,
        allowed: dialect == .confluent
          ? ["none", "kafka", "record_key", "record_value"]
          : ["none", "kafka", "record_key", "record_header", "record_value"],
        "Where the primary key comes from: none, record_key or record_value (kafka and record_header are not built in Sluice)."
      ),
      .init(
        dialect.primaryKeyFieldsKey, .list, default: "", importance: .medium, group: writes,
        "The primary-key fields; with record_key an empty list means every field of the key."),
      .init(
        "table.name.format", .string, default: "${topic}", importance: .medium, group: tables,
        dialect == .confluent
          ? "The destination table, table or schema.table; ${topic} stands for the topic (which must then have no '.')."
          : "The destination table, table or schema.table; ${topic} stands for the topic (which must then have no '.'), ${source.schema}, ${source.table} and ${source.db} for the change event's source."
      ),
    ]
  }

  static let confluentDefinitions: [ConfigKeyDefinition] =
    shared(.confluent) + [
      .init(
        "auto.create", .boolean, default: "false", importance: .medium, group: tables,
        "Create the destination table when it is missing."),
      .init(
        "auto.evolve", .boolean, default: "false", importance: .medium, group: tables,
        "Add columns for fields the table lacks."),
      .init(
        "fields.whitelist", .list, default: "", importance: .medium, group: writes,
        "The value fields to write; empty: all of them."),
      .init(
        "max.retries", .int, default: "10", importance: .medium, group: writes,
        "How many times a failing record is retried (Sluice's errors.retries)."),
      .init(
        "retry.backoff.ms", .int, default: "3000", importance: .medium, group: writes,
        "The first wait between retries (Sluice's errors.retry.backoff.ms)."),
      .init(
        "quote.sql.identifiers", .string, default: "always", importance: .low, group: tables,
        allowed: ["always", "never"], "Sluice always quotes identifiers: only 'always'."),
      .init(
        "db.timezone", .string, default: "UTC", importance: .medium, group: writes,
        "Only UTC: Sluice writes timestamps as PostgreSQL reads their ISO-8601 text."),
      .init(
        "dialect.name", .string, default: "", importance: .low, group: connection,
        "Only PostgreSqlDatabaseDialect (or empty)."),
    ]

  static let debeziumDefinitions: [ConfigKeyDefinition] =
    shared(.debezium) + [
      .init(
        "schema.evolution", .string, default: "none", importance: .medium, group: tables,
        allowed: ["none", "basic"],
        "basic: create missing tables and add missing columns (Sluice's auto_create and auto_evolve)."
      ),
      .init(
        "truncate.enabled", .boolean, default: "false", importance: .medium, group: writes,
        "Apply Debezium truncate events as TRUNCATE."),
      .init(
        "quote.identifiers", .boolean, default: "false", importance: .low, group: tables,
        "Sluice always quotes identifiers: only true is accepted."),
      .init(
        "use.time.zone", .string, default: "UTC", importance: .medium, group: writes,
        "Only UTC: Sluice writes timestamps as PostgreSQL reads their ISO-8601 text."),
      .init(
        "database.time_zone", .string, default: "UTC", importance: .low, group: writes,
        "The former name of use.time.zone: only UTC."),
      .init(
        "collection.name.format", .string, default: "${topic}", importance: .medium,
        group: tables, "Debezium 3's name for table.name.format."),
    ]

  // MARK: - Translation

  static func translate(_ t: ConnectTranslation, _ dialect: Dialect) throws(ConfigError)
    -> ConnectorDefinition
  {
    var config: [ConfigNode.Entry] = []
    let url = try JDBCURL(t, userKey: dialect.userKey)
    config.append(t.entry("url", url.node))
    if let password = try t.node("connection.password") ?? url.password {
      config.append(t.entry("password", password))
    }
    if let schema = url.schema { config.append(t.entry("schema", schema)) }

    let mode = try t.oneOf("insert.mode", ["insert", "upsert", "update"]) ?? "insert"
    config.append(
      t.entry("mode", t.located(.scalar(mode), at: "insert.mode")))

    let keyMode =
      try t.oneOf(
        dialect.primaryKeyModeKey, ["none", "kafka", "record_key", "record_header", "record_value"])
      ?? "none"
    let keyFields = try t.list(dialect.primaryKeyFieldsKey) ?? []
    switch keyMode {
    case "none":
      if mode != "insert" {
        throw t.error(
          dialect.primaryKeyModeKey,
          "insert.mode=\(mode) needs a primary key: set \(dialect.primaryKeyModeKey)=record_key (or record_value with \(dialect.primaryKeyFieldsKey))"
        )
      }
      if let fields = t.config.entry(dialect.primaryKeyFieldsKey), !keyFields.isEmpty {
        throw fields.error(
          "\(dialect.primaryKeyFieldsKey) needs \(dialect.primaryKeyModeKey)=record_key or record_value"
        )
      }
    case "record_key":
      break
    case "record_value":
      if keyFields.isEmpty {
        throw t.error(
          dialect.primaryKeyFieldsKey,
          "with \(dialect.primaryKeyModeKey)=record_value Sluice needs the key fields listed")
      }
    default:
      throw t.error(
        dialect.primaryKeyModeKey,
        "'\(keyMode)' is not built in Sluice: its postgres sink keys rows by fields of the record key (record_key) or value (record_value)"
      )
    }
    if !keyFields.isEmpty {
      let node = try t.required(dialect.primaryKeyFieldsKey)
      config.append(
        t.entry(
          "primary_key",
          t.located(
            .sequence(keyFields.map { t.located(.scalar($0), at: dialect.primaryKeyFieldsKey) }),
            at: dialect.primaryKeyFieldsKey))
      )
      _ = node
    }

    let delete = try t.bool("delete.enabled") ?? false
    if delete && keyMode != "record_key" {
      throw t.error(
        "delete.enabled", "delete.enabled=true needs \(dialect.primaryKeyModeKey)=record_key")
    }
    config.append(
      t.entry("delete", t.located(.scalar(delete ? "true" : "false"), at: "delete.enabled")))

    let batch =
      try t.int("batch.size", range: 1...100_000).map(String.init) ?? dialect.defaultBatchSize
    config.append(t.entry("batch_size", t.located(.scalar(batch), at: "batch.size")))

    config.append(
      t.entry(
        "table", try table(t, dialect: dialect, schemaFromURL: url.schema != nil, into: &config)))

    var vendorKeys: [String: String] = [:]
    switch dialect {
    case .confluent:
      for (flat, native) in [("auto.create", "auto_create"), ("auto.evolve", "auto_evolve")] {
        if let value = try t.bool(flat) {
          config.append(t.entry(native, t.located(.scalar(value ? "true" : "false"), at: flat)))
        }
      }
      if let fields = try t.list("fields.whitelist"), !fields.isEmpty {
        config.append(
          t.entry(
            "columns",
            t.located(
              .mapping(
                fields.map {
                  t.entry(
                    $0, t.located(.scalar($0), at: "fields.whitelist", path: "fields.whitelist"))
                }),
              at: "fields.whitelist")))
      }
      try t.rejectUnbuilt([
        ("quote.sql.identifiers", ["always"], "Sluice always quotes identifiers"),
        (
          "db.timezone", ["UTC"], "Sluice writes timestamps as PostgreSQL reads their ISO-8601 text"
        ),
        ("dialect.name", ["", "PostgreSqlDatabaseDialect"], "Sluice writes to PostgreSQL only"),
      ])
      // Confluent's retry settings are Sluice's record retries.
      vendorKeys = ["errors.retries": "max.retries", "errors.retry.backoff.ms": "retry.backoff.ms"]
    case .debezium:
      if let evolution = try t.oneOf("schema.evolution", ["none", "basic"]) {
        let on = evolution == "basic" ? "true" : "false"
        config.append(t.entry("auto_create", t.located(.scalar(on), at: "schema.evolution")))
        config.append(t.entry("auto_evolve", t.located(.scalar(on), at: "schema.evolution")))
      }
      if let truncate = try t.bool("truncate.enabled") {
        config.append(
          t.entry(
            "truncate", t.located(.scalar(truncate ? "true" : "false"), at: "truncate.enabled")))
      }
      try t.rejectUnbuilt([
        ("quote.identifiers", ["true"], "Sluice always quotes identifiers"),
        (
          "use.time.zone", ["UTC"],
          "Sluice writes timestamps as PostgreSQL reads their ISO-8601 text"
        ),
        (
          "database.time_zone", ["UTC"],
          "Sluice writes timestamps as PostgreSQL reads their ISO-8601 text"
        ),
      ])
    }
    return try t.definition(type: "postgres", config: config, vendorKeys: vendorKeys)
  }

  /// The `table:` of the sink from `table.name.format` (Debezium 3's `collection.name.format`
  /// too). `${topic}` is the topic — Debezium puts '_' for its dots, Confluent reads them as
  /// schema separators, neither of which Sluice's `{topic}` does, so a dotted topic is an
  /// error — and Debezium's `${source.schema}`, `${source.table}`, `${source.db}` are Sluice's
  /// placeholders of the same names. A literal `schema.table` names the schema, as both do.
  private static func table(
    _ t: ConnectTranslation, dialect: Dialect, schemaFromURL: Bool,
    into config: inout [ConfigNode.Entry]
  ) throws(ConfigError) -> ConfigNode {
    var key = "table.name.format"
    if dialect == .debezium, t.has("collection.name.format") {
      if t.has(key) {
        throw t.error(key, "give either table.name.format or collection.name.format, not both")
      }
      key = "collection.name.format"
    }
    let placeholders =
      dialect == .confluent ? ["topic"] : ["topic", "source.schema", "source.table", "source.db"]
    let written = t.written(key) ?? "${topic}"
    let format = ConnectTranslation.placeholders(written, placeholders)
    let node =
      t.has(key) ? try t.scalar(format, at: key) : t.located(.scalar(format), at: key)
    let text = try node.string()
    var rest = text
    for name in placeholders { rest = rest.replacingOccurrences(of: "{\(name)}", with: "") }
    if rest.contains("{") || rest.contains("}") {
      throw node.error(
        "only \(placeholders.map { "${\($0)}" }.joined(separator: ", ")) may appear in braces, got \(node.kindDescription)"
      )
    }
    if text.contains("{topic}") {
      let topics = (try t.list("topics")) ?? []
      if let dotted = topics.first(where: { $0.contains(".") }) {
        let vendor =
          dialect == .confluent
          ? "Confluent's sink splits the dotted name into schema and table"
          : "Debezium's sink turns its dots into underscores"
        throw t.error(
          key,
          "the table name comes from topic '\(dotted)', which has dots: \(vendor), which Sluice does not do; give \(key) a table name"
        )
      }
    }
    // `schema.table`, splitting only at dots outside placeholders.
    var parts = [""]
    var depth = 0
    for c in text {
      if c == "{" { depth += 1 }
      if c == "}" { depth -= 1 }
      if c == ".", depth == 0 { parts.append("") } else { parts[parts.count - 1].append(c) }
    }
    guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }) else {
      throw node.error("expected table or schema.table, got \(node.kindDescription)")
    }
    var table = node
    if parts.count == 2 {
      if parts[0].contains("{") {
        throw node.error(
          "a schema named by a placeholder is not built in Sluice; give the schema's name")
      }
      if schemaFromURL {
        throw node.error("the schema is given twice: in \(key) and as the URL's currentSchema")
      }
      config.append(t.entry("schema", t.located(.scalar(parts[0]), at: key)))
      table.content = .scalar(parts[1])
    }
    return table
  }
}

/// A `jdbc:postgresql://` URL as a libpq URL.
struct JDBCURL {
  var node: ConfigNode
  var password: ConfigNode?
  var schema: ConfigNode?

  /// JDBC parameters and their libpq names; `ssl=true` is `sslmode=verify-full`, as pgjdbc
  /// treats it.
  static let parameters = [
    "sslmode": "sslmode", "sslrootcert": "sslrootcert", "sslcert": "sslcert", "sslkey": "sslkey",
    "connectTimeout": "connect_timeout", "ApplicationName": "application_name",
    "options": "options",
  ]

  init(_ t: ConnectTranslation, userKey: String) throws(ConfigError) {
    let key = "connection.url"
    let urlNode = try t.required(key)
    let text = try urlNode.string()
    let prefix = "jdbc:postgresql://"
    guard text.hasPrefix(prefix) else {
      throw urlNode.error(
        "Sluice writes to PostgreSQL: expected jdbc:postgresql://host[:port]/database, got \(ConnectorRegistry.maskingQueryPasswords(CredentialMask.masking(urlNode.kindDescription)))"
      )
    }
    let rest = text.dropFirst(prefix.count)
    let (location, query) =
      rest.firstIndex(of: "?").map { (rest[..<$0], rest[rest.index(after: $0)...]) }
      ?? (rest, "")
    let slash = location.firstIndex(of: "/")
    let hosts = slash.map { location[..<$0] } ?? location
    let database = slash.map { location[location.index(after: $0)...] } ?? ""
    guard !hosts.isEmpty, !hosts.contains("@") else {
      throw urlNode.error(
        "expected jdbc:postgresql://host[:port]/database, got \(ConnectorRegistry.maskingQueryPasswords(CredentialMask.masking(urlNode.kindDescription)))"
      )
    }
    var user = try t.string(userKey)
    var params: [String] = []
    var password: String?
    for pair in query.split(separator: "&") where !pair.isEmpty {
      let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
      let name = parts[0]
      let value = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
      switch name {
      case "user": if user == nil { user = value }
      case "password": password = value
      case "currentSchema":
        let first = value.split(separator: ",").first.map(String.init) ?? value
        schema = t.located(.scalar(first), at: key, path: key)
      case "ssl":
        if value.lowercased() == "true" && !query.contains("sslmode=") {
          params.append("sslmode=verify-full")
        }
      default:
        guard let libpq = Self.parameters[name] else {
          throw urlNode.error(
            "the JDBC parameter '\(name)' is not built in Sluice (known: \(Self.parameters.keys.sorted().joined(separator: ", ")), ssl, currentSchema, user, password)"
          )
        }
        params.append("\(libpq)=\(ConnectTranslation.percentEscaped(value))")
      }
    }
    var url = "postgresql://"
    if let user { url += ConnectTranslation.percentEscaped(user) + "@" }
    url += hosts + "/" + database
    if !params.isEmpty { url += "?" + params.joined(separator: "&") }
    // What errors show: the URL as written with the user (never the password) in it.
    node = t.composed(
      expanded: url,
      written: urlNode.writtenText == nil ? url : "\(urlNode.writtenText!) (translated)",
      at: key)
    self.password = password.map { value in
      var p = t.located(.scalar(value), at: key, path: key)
      p.writtenText = "(password from \(key))"
      return p
    }
  }
}
