import SluiceCore

/// Debezium's PostgreSQL connector config (`io.debezium.connector.postgresql.PostgresConnector`),
/// run as Sluice's `postgres-cdc` source.
///
/// What translates exactly is translated: the connection, `topic.prefix` (topics
/// `<prefix>.<schema>.<table>`, as Debezium names them), include lists that name tables,
/// the slot, the publication, the snapshot modes Sluice has, the value conversion modes. A setting whose behaviour
/// Sluice does not have — a table pattern, column filters — is an error
/// that names the key and says why, never silently dropped.
enum DebeziumPostgresConfig {
  static let className = "io.debezium.connector.postgresql.PostgresConnector"

  static var plugin: ConnectorPlugin {
    .translator(
      className: className, aliases: [], kind: .source, sluiceType: "postgres-cdc",
      definitions: definitions, converters: ConnectCommonKeys.jsonConverters,
      readsSchemaEnvelopes: true, translate: translate)
  }

  private static let connection = "Connection"
  private static let filters = "Filters"
  private static let replication = "Replication"
  private static let events = "Events"

  static let definitions: [ConfigKeyDefinition] = [
    .init(
      "database.hostname", .string, required: true, importance: .high, group: connection,
      displayName: "Hostname", "IP address or hostname of the PostgreSQL database server."),
    .init(
      "database.port", .int, default: "5432", importance: .high, group: connection,
      displayName: "Port", "Port of the PostgreSQL database server."),
    .init(
      "database.user", .string, required: true, importance: .high, group: connection,
      displayName: "User", "Name of the database user to be used when connecting to the database."),
    .init(
      "database.password", .password, importance: .high, group: connection,
      displayName: "Password",
      "Password of the database user to be used when connecting to the database."),
    .init(
      "database.dbname", .string, required: true, importance: .high, group: connection,
      displayName: "Database",
      "The name of the database from which the connector should capture changes."),
    .init(
      "database.sslmode", .string, default: "prefer", importance: .medium, group: connection,
      allowed: ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
      "Whether to use an encrypted connection to the PostgreSQL server (libpq's sslmode)."),
    .init(
      "topic.prefix", .string, required: true, importance: .high, group: events,
      displayName: "Topic prefix",
      "Topic prefix that names this source: change events of a table go to <topic.prefix>.<schema>.<table>."
    ),
    .init(
      "plugin.name", .string, default: "pgoutput", importance: .medium, group: replication,
      allowed: ["pgoutput"],
      "The logical decoding plug-in. Sluice reads pgoutput only (Debezium's default, decoderbufs, is an error when named)."
    ),
    .init(
      "slot.name", .string, default: "debezium", importance: .medium, group: replication,
      "The name of the replication slot (created when missing)."),
    .init(
      "publication.name", .string, default: "dbz_publication", importance: .low,
      group: replication, "The name of the publication (created when missing)."),
    .init(
      "publication.autocreate.mode", .string, default: "all_tables", importance: .low,
      group: replication, allowed: ["all_tables", "filtered"],
      "all_tables or filtered: Sluice creates the publication for the captured tables (FOR ALL TABLES when no table is listed) and adds missing tables to an existing one; disabled and no_tables are not built."
    ),
    .init(
      "schema.include.list", .list, importance: .medium, group: filters,
      "Schemas whose tables are captured; only together with table.include.list (Sluice captures listed tables)."
    ),
    .init(
      "schema.exclude.list", .list, importance: .medium, group: filters,
      "Schemas whose tables are not captured; removes listed tables of those schemas."),
    .init(
      "table.include.list", .list, importance: .high, group: filters,
      "The tables to capture, schema.table (lower case; '.' or '\\.' between them). Patterns with other regular-expression characters are not built. Empty: every table."
    ),
    .init(
      "table.exclude.list", .list, importance: .medium, group: filters,
      "Tables removed from table.include.list (names, as there)."),
    .init(
      "column.include.list", .list, importance: .low, group: filters,
      "Not built in Sluice: every column is captured."),
    .init(
      "column.exclude.list", .list, importance: .low, group: filters,
      "Not built in Sluice: every column is captured."),
    .init(
      "snapshot.mode", .string, default: "initial", importance: .medium, group: replication,
      allowed: ["initial", "initial_only", "no_data", "never"],
      "initial: snapshot the tables when there is no position, then stream; initial_only: snapshot and stop; no_data (or never): stream only."
    ),
    .init(
      "snapshot.max.threads", .int, default: "1", importance: .low, group: replication,
      "How many connections read the initial snapshot in parallel (tables, and key or block ranges of a large table), under one exported snapshot."
    ),
    .init(
      "heartbeat.interval.ms", .int, default: "0", importance: .low, group: replication,
      "Milliseconds between heartbeats: above 0, heartbeat records to <topic.heartbeat.prefix>.<topic.prefix> at this interval. Sluice also writes a WAL heartbeat (pg_logical_emit_message) that lets an idle slot advance, always, every 10 s when 0."
    ),
    .init(
      "topic.heartbeat.prefix", .string, default: "__debezium-heartbeat", importance: .low,
      group: events, "The prefix of the heartbeat topic, <prefix>.<topic.prefix>."),
    .init(
      "topic.heartbeat.name", .string, importance: .low, group: events,
      "The heartbeat topic's full name, instead of <topic.heartbeat.prefix>.<topic.prefix>."),
    .init(
      "provide.transaction.metadata", .boolean, default: "false", importance: .low,
      group: events,
      "BEGIN and END records of each transaction to <topic.prefix>.<topic.transaction>, and a transaction block in each event."
    ),
    .init(
      "topic.transaction", .string, default: "transaction", importance: .low, group: events,
      "The suffix of the transaction metadata topic, <topic.prefix>.<topic.transaction>."),
    .init(
      "tombstones.on.delete", .boolean, default: "true", importance: .medium, group: events,
      "Whether a delete event is followed by a tombstone (a record with a null value)."),
    .init(
      "decimal.handling.mode", .string, default: "precise", importance: .medium, group: events,
      allowed: ValueConversionOptions.DecimalHandling.allCases.map(\.rawValue),
      "How numeric, decimal and money values are written: precise (Connect Decimal: base64 of the unscaled value), double or string."
    ),
    .init(
      "time.precision.mode", .string, default: "adaptive", importance: .medium, group: events,
      allowed: ValueConversionOptions.TimePrecision.allCases.map(\.rawValue),
      "How dates, times and timestamps are written: adaptive, adaptive_time_microseconds, connect or isostring."
    ),
    .init(
      "binary.handling.mode", .string, default: "bytes", importance: .low, group: events,
      allowed: ValueConversionOptions.BinaryHandling.allCases.map(\.rawValue),
      "How bytea values are written: bytes, base64, base64-url-safe or hex."),
    .init(
      "interval.handling.mode", .string, default: "numeric", importance: .low, group: events,
      allowed: ValueConversionOptions.IntervalHandling.allCases.map(\.rawValue),
      "How interval values are written: numeric (microseconds) or string (ISO-8601)."),
    .init(
      "hstore.handling.mode", .string, default: "json", importance: .low, group: events,
      allowed: ValueConversionOptions.HstoreHandling.allCases.map(\.rawValue),
      "How hstore values are written: json (a string) or map (an object)."),
    .init(
      "slot.drop.on.stop", .boolean, default: "false", importance: .low, group: replication,
      "Only false: Sluice keeps the slot when the connector stops (drop_slot_on_delete drops it when the connector is deleted)."
    ),
    // Sluice's own, in Debezium's spelling: Debezium has no slot health.
    .init(
      "slot.warn.retained.wal", .string, default: "1GiB", importance: .medium, group: replication,
      "Sluice: above this much WAL held back by the slot (pg_current_wal_lsn() - restart_lsn), the task and GET /health say DEGRADED with the reason. A size like 512MB or 2GiB, or off. A replay.window is retained WAL too: keep this above it."
    ),
    .init(
      "slot.fail.retained.wal", .string, default: "off", importance: .medium, group: replication,
      "Sluice: above this size the warning is CRITICAL and GET /health answers 503; the task keeps streaming. A size, or off. A replay.window counts in the retained WAL."
    ),
    .init(
      "slot.health.poll.interval.ms", .int, default: "10000", importance: .low, group: replication,
      "Sluice: milliseconds between readings of the slot's retained WAL, wal_status and safe_wal_size (at least 100)."
    ),
    .init(
      "replay.window", .string, default: "0", importance: .medium, group: replication,
      "Sluice: keep this much WAL behind the durable point decodable in the slot (a size like 512MiB; 0: none), so the connector can be moved back to an LSN inside it (PATCH offsets, sluice replay). The slot retains that much more WAL."
    ),
    .init(
      "signal.data.collection", .string, importance: .low, group: replication,
      "The signal table, schema.table (columns id, type, data): its inserts are signals such as execute-snapshot (incremental snapshots). Sluice adds it to the publication."
    ),
    .init(
      "incremental.snapshot.chunk.size", .int, default: "1024", importance: .low,
      group: replication, "Rows read per chunk of an incremental snapshot."),
    .init(
      "max.batch.size", .int, default: "2048", importance: .low, group: replication,
      "Accepted and without effect: Sluice batches by transaction."),
  ]

  static func translate(_ t: ConnectTranslation) throws(ConfigError) -> ConnectorDefinition {
    try t.rejectUnbuilt([
      ("plugin.name", ["pgoutput"], "Sluice reads the pgoutput logical decoding plug-in only"),
      (
        "publication.autocreate.mode", ["all_tables", "filtered"],
        "Sluice creates a missing publication for the captured tables and adds missing tables to it"
      ),
      (
        "slot.drop.on.stop", ["false"],
        "Sluice keeps the slot when the connector stops; it drops it only when the connector is deleted (drop_slot_on_delete)"
      ),
    ])
    for key in ["column.include.list", "column.exclude.list"] where t.has(key) {
      throw t.error(key, "column filters are not built in Sluice: every column is captured")
    }
    _ = try t.int("max.batch.size", range: 1...Int(Int32.max))

    var config: [ConfigNode.Entry] = []
    config.append(t.entry("url", try url(t)))
    if let password = try t.node("database.password") {
      config.append(t.entry("password", password))
    }
    config.append(t.entry("tables", try tables(t)))
    let slot = try t.node("slot.name") ?? t.located(.scalar("debezium"), at: "slot.name")
    config.append(t.entry("slot", slot))
    let publication =
      try t.node("publication.name")
      ?? t.located(.scalar("dbz_publication"), at: "publication.name")
    config.append(t.entry("publication", publication))
    if let mode = try t.oneOf(
      "snapshot.mode",
      [
        "initial", "initial_only", "no_data", "never", "always", "when_needed",
        "configuration_based", "custom", "recovery",
      ])
    {
      let snapshot: String
      switch mode {
      case "initial": snapshot = "initial"
      case "initial_only": snapshot = "initial_only"
      case "no_data", "never": snapshot = "never"
      default:
        throw t.error(
          "snapshot.mode",
          "'\(mode)' is not built in Sluice (initial, initial_only and no_data are)")
      }
      config.append(t.entry("snapshot", t.located(.scalar(snapshot), at: "snapshot.mode")))
    }
    if try t.int("snapshot.max.threads", range: 1...64) != nil {
      config.append(t.entry("snapshot_max_threads", try t.required("snapshot.max.threads")))
    }
    if let heartbeat = try t.int("heartbeat.interval.ms", range: 0...Int(Int32.max)), heartbeat > 0
    {
      config.append(t.entry("heartbeat_ms", try t.required("heartbeat.interval.ms")))
    }
    for (key, sluiceKey) in [
      ("slot.warn.retained.wal", "slot_warn_retained_wal"),
      ("slot.fail.retained.wal", "slot_fail_retained_wal"),
      ("replay.window", "replay_window"),
      ("signal.data.collection", "signal_data_collection"),
    ] {
      if let node = try t.node(key) { config.append(t.entry(sluiceKey, node)) }
    }
    if try t.int("incremental.snapshot.chunk.size", range: 1...1_000_000) != nil {
      config.append(
        t.entry("incremental_chunk_size", try t.required("incremental.snapshot.chunk.size")))
    }
    if try t.int("slot.health.poll.interval.ms", range: 100...Int(Int32.max)) != nil {
      config.append(t.entry("slot_health_poll_ms", try t.required("slot.health.poll.interval.ms")))
    }
    for (key, sluiceKey, allowed) in [
      (
        "decimal.handling.mode", "decimal_handling",
        ValueConversionOptions.DecimalHandling.allCases.map(\.rawValue)
      ),
      (
        "time.precision.mode", "time_precision",
        ValueConversionOptions.TimePrecision.allCases.map(\.rawValue)
      ),
      (
        "interval.handling.mode", "interval_handling",
        ValueConversionOptions.IntervalHandling.allCases.map(\.rawValue)
      ),
      (
        "binary.handling.mode", "binary_handling",
        ValueConversionOptions.BinaryHandling.allCases.map(\.rawValue)
      ),
      (
        "hstore.handling.mode", "hstore_handling",
        ValueConversionOptions.HstoreHandling.allCases.map(\.rawValue)
      ),
    ] {
      if let mode = try t.oneOf(key, allowed) {
        config.append(t.entry(sluiceKey, t.located(.scalar(mode), at: key)))
      }
    }
    if let schemas = try schemas(t) { config.append(schemas) }
    if let tombstones = try t.bool("tombstones.on.delete") {
      config.append(
        t.entry(
          "tombstones_on_delete",
          t.located(.scalar(tombstones ? "true" : "false"), at: "tombstones.on.delete")))
    }

    let prefixNode = try t.required("topic.prefix")
    let prefix = try prefixNode.string()
    if prefix.isEmpty || prefix.contains("{") || prefix.contains("}")
      || TopicName.problem(with: prefix) != nil
    {
      throw prefixNode.error(
        "a topic prefix uses letters, digits, '.', '_' and '-', got \(prefixNode.kindDescription)")
    }
    config += try debeziumTopics(t, prefix: prefix)
    var topic = prefixNode
    topic.content = .scalar("\(prefix).{schema}.{table}")
    return try t.definition(type: "postgres-cdc", topic: topic, config: config)
  }

  /// `provide_transaction_metadata` and `transaction_topic` (`<prefix>.<topic.transaction>`),
  /// and with `heartbeat.interval.ms` above 0 `heartbeat_topic` (`topic.heartbeat.name`, else
  /// `<topic.heartbeat.prefix>.<prefix>`), as Debezium names those topics.
  private static func debeziumTopics(_ t: ConnectTranslation, prefix: String) throws(ConfigError)
    -> [ConfigNode.Entry]
  {
    var entries: [ConfigNode.Entry] = []
    if try t.bool("provide.transaction.metadata") == true {
      entries.append(
        t.entry(
          "provide_transaction_metadata",
          t.located(.scalar("true"), at: "provide.transaction.metadata")))
      let suffix = try t.string("topic.transaction") ?? TransactionMetadata.defaultSuffix
      entries.append(
        t.entry(
          "transaction_topic",
          t.located(
            .scalar("\(prefix).\(suffix)"),
            at: t.has("topic.transaction") ? "topic.transaction" : "provide.transaction.metadata")))
    }
    if let interval = try t.int("heartbeat.interval.ms", range: 0...Int(Int32.max)), interval > 0 {
      let key = t.has("topic.heartbeat.name") ? "topic.heartbeat.name" : "heartbeat.interval.ms"
      let heartbeatPrefix =
        try t.string("topic.heartbeat.prefix") ?? DebeziumHeartbeat.defaultPrefix
      let topic = try t.string("topic.heartbeat.name") ?? "\(heartbeatPrefix).\(prefix)"
      entries.append(t.entry("heartbeat_topic", t.located(.scalar(topic), at: key)))
    }
    return entries
  }

  /// Sluice's `schemas` from the JSON converter's settings. A side's
  /// `*.converter.schemas.enable` decides; naming `*.converter` (the JsonConverter) without it
  /// means true, Kafka's default for that converter; a side with neither follows the other,
  /// and neither side given is Sluice's schemaless JSON. Sluice writes key and value with
  /// schemas or both without: sides that differ are an error.
  private static func schemas(_ t: ConnectTranslation) throws(ConfigError) -> ConfigNode.Entry? {
    var sides: [(key: String, enabled: Bool)] = []
    for side in ["key", "value"] {
      let flag = "\(side).converter.schemas.enable"
      if let enabled = try t.bool(flag) {
        sides.append((flag, enabled))
      } else if t.has("\(side).converter") {
        sides.append(("\(side).converter", true))
      }
    }
    guard let last = sides.last else { return nil }
    if let first = sides.first, first.enabled != last.enabled {
      throw t.error(
        last.key,
        "Sluice writes keys and values both with the JSON converter's schema or both without; \(first.key) means schemas.enable=\(first.enabled) and \(last.key) means \(last.enabled) (a JsonConverter without schemas.enable has it true, as in Kafka)"
      )
    }
    return t.entry("schemas", t.located(.scalar(last.enabled ? "true" : "false"), at: last.key))
  }

  /// `postgresql://user@host:port/dbname?sslmode=…` from the `database.*` keys.
  private static func url(_ t: ConnectTranslation) throws(ConfigError) -> ConfigNode {
    var expanded = "postgresql://"
    var written = "postgresql://"
    func add(_ key: String, _ text: (String) -> String) throws(ConfigError) {
      let node = try t.required(key)
      let value = try node.string()
      expanded += text(value)
      written += text(node.writtenText ?? value)
    }
    try add("database.user") { ConnectTranslation.percentEscaped($0) + "@" }
    try add("database.hostname") { $0.contains(":") && !$0.hasPrefix("[") ? "[\($0)]" : $0 }
    if let port = try t.int("database.port", range: 1...65535) {
      expanded += ":\(port)"
      written += ":\(t.written("database.port") ?? "")"
    }
    try add("database.dbname") { "/" + ConnectTranslation.percentEscaped($0) }
    if let sslmode = try t.oneOf(
      "database.sslmode", ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
    {
      expanded += "?sslmode=\(sslmode)"
      written += "?sslmode=\(sslmode)"
    }
    return t.composed(expanded: expanded, written: written, at: "database.hostname")
  }

  /// Sluice's `tables:` from Debezium's include and exclude lists.
  private static func tables(_ t: ConnectTranslation) throws(ConfigError) -> ConfigNode {
    for (include, exclude) in [
      ("table.include.list", "table.exclude.list"), ("schema.include.list", "schema.exclude.list"),
    ] where t.has(include) && t.has(exclude) {
      throw t.error(exclude, "\(include) and \(exclude) cannot be used together (as in Debezium)")
    }
    guard let includes = try t.list("table.include.list"), !includes.isEmpty else {
      for key in ["schema.include.list", "schema.exclude.list", "table.exclude.list"]
      where t.has(key) {
        throw t.error(
          key,
          "Sluice captures listed tables or every table; \(key) without table.include.list is not built: list the tables in table.include.list"
        )
      }
      return t.located(.scalar("*"), at: "table.include.list")
    }
    var names: [String] = []
    for pattern in includes {
      names.append(try tableName(pattern, key: "table.include.list", t))
    }
    if let schemas = try t.list("schema.include.list") {
      for schema in schemas { _ = try schemaName(schema, key: "schema.include.list", t) }
      names = names.filter { schemas.contains(String($0.split(separator: ".")[0])) }
    }
    if let schemas = try t.list("schema.exclude.list") {
      for schema in schemas { _ = try schemaName(schema, key: "schema.exclude.list", t) }
      names = names.filter { !schemas.contains(String($0.split(separator: ".")[0])) }
    }
    if names.isEmpty {
      throw t.error(
        "table.include.list", "no table is left to capture once the schema lists are applied")
    }
    return t.located(
      .sequence(names.map { t.located(.scalar($0), at: "table.include.list") }),
      at: "table.include.list")
  }

  /// A Debezium table pattern that names exactly one table: `schema.table` or
  /// `schema\.table`, lower case.
  private static func tableName(_ pattern: String, key: String, _ t: ConnectTranslation)
    throws(ConfigError) -> String
  {
    let text = pattern.replacingOccurrences(of: "\\.", with: ".")
    let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 2 else {
      throw t.error(
        key,
        "'\(pattern)': Debezium matches schema.table, so a table needs its schema (public.\(pattern)?)"
      )
    }
    for part in parts { _ = try schemaName(part, key: key, t, whole: pattern) }
    return text
  }

  private static func schemaName(
    _ name: String, key: String, _ t: ConnectTranslation, whole: String? = nil
  ) throws(ConfigError) -> String {
    let shown = whole ?? name
    if name.isEmpty || name.contains(where: { "*+?[](){}|^$\\".contains($0) }) {
      throw t.error(
        key,
        "'\(shown)' is a pattern; Sluice captures tables by name, so list each one (schema.table)")
    }
    if name != name.lowercased() {
      throw t.error(
        key,
        "'\(shown)': Debezium matches names without regard to case, Sluice by exact name; write the name as PostgreSQL stores it, in lower case"
      )
    }
    return name
  }
}
