import SluiceCore

/// `source: postgres-cdc` settings, validated before the worker starts the connector.
struct CDCConfig: Sendable {
  /// Which tables the publication covers.
  enum Tables: Sendable, Equatable {
    /// `tables: "*"`: a publication `FOR ALL TABLES`.
    case all
    /// Qualified names, in the order given.
    case listed([QualifiedName])
  }

  /// Whether existing rows are read before streaming, as Debezium's `snapshot.mode`.
  enum Snapshot: String, Sendable {
    /// Read every captured table once (when the connector has no position yet), then stream.
    case initial
    /// Stream only: changes from the slot's position on.
    case never
    /// Read the tables once and stop; no slot is kept.
    case initialOnly = "initial_only"
  }

  var name: String
  var url: String
  var password: String?
  var tables: Tables
  var slot: String
  var publication: String
  var snapshot: Snapshot
  /// `snapshot_max_threads`: connections that read the snapshot's tables, and ranges of one
  /// large table, in parallel under one exported snapshot (``InitialSnapshot``).
  var snapshotMaxThreads = 1
  /// `heartbeat_ms`: how often a WAL message is written so an idle slot advances.
  var heartbeatInterval: Duration
  var dropSlotOnDelete: Bool
  /// Debezium's `tombstones.on.delete`: a record with a null value after each delete.
  var tombstonesOnDelete: Bool
  var topic: TopicTemplate
  /// When the slot's retained WAL makes the task DEGRADED, and CRITICAL (``SlotHealth``).
  var slotThresholds: SlotThresholds
  /// How often the slot's figures are read from `pg_replication_slots`.
  var slotHealthPollInterval: Duration
  /// `replay_window`: bytes of WAL behind the durable point the slot keeps decodable, so the
  /// connector can be moved back inside them (``ReplayWindow``); 0 for none.
  var replayWindowBytes: UInt64
  /// How values are written: Debezium's conversion modes.
  var conversion: ValueConversionOptions
  /// `provide_transaction_metadata` and `transaction_topic`: BEGIN/END records and the
  /// events' `transaction` blocks (``TransactionMetadata``); nil: off.
  var transactionMetadata: TransactionMetadata?
  /// `heartbeat_topic`: where Debezium's heartbeat records go every `heartbeat_ms`
  /// (``DebeziumHeartbeat``); nil: none.
  var heartbeatTopic: String?
  /// What Debezium calls the server: its `topic.prefix`, here the literal part of a topic
  /// template `<prefix>.{schema}.{table}` (the shape Debezium names topics by, and what the
  /// Kafka Connect form's `topic.prefix` becomes), else the connector's name. It keys the
  /// heartbeat records (`{"serverName": …}`), names their default topic and the offsets'
  /// partition (`{"server": …}`).
  var serverName: String
  /// Incremental snapshots on signal: the signal table and the chunk size.
  var incremental = IncrementalSnapshotConfig()

  /// The `config:` keys, as `/connector-plugins` describes them.
  static let definitions: [ConfigKeyDefinition] = [
    .init(
      "url", .string, required: true, importance: .high, group: "Connection",
      displayName: "PostgreSQL URL",
      "The database to capture, as a libpq URL (postgresql://user@host:5432/db) or key=value string; the user needs the REPLICATION attribute."
    ),
    .init(
      "password", .password, importance: .high, group: "Connection",
      "The user's password; overrides one in the URL. Best given as ${env:NAME} or ${file:/path}."),
    .init(
      "tables", .list, required: true, importance: .high, group: "Capture", shape: .list,
      "The tables to capture, schema.table (schema public when left out), or \"*\" for a publication FOR ALL TABLES."
    ),
    .init(
      "slot", .string, importance: .medium, group: "Capture",
      "The logical replication slot (created when missing): 1 to 63 lower-case letters, digits and '_'; default sluice_<name>."
    ),
    .init(
      "publication", .string, importance: .medium, group: "Capture",
      "The publication (created when missing; missing tables are added to it); default: the slot's name."
    ),
    .init(
      "snapshot", .string, default: "initial", importance: .medium, group: "Capture",
      allowed: ["initial", "never", "initial_only"],
      "initial: read every captured table once when the connector has no position, then stream; never: stream changes only; initial_only: read the tables once and stop."
    ),
    .init(
      "snapshot_max_threads", .int, default: "1", importance: .low, group: "Capture",
      "Connections that read the snapshot in parallel (1 to 64), under one exported snapshot: several tables at once, and key ranges (or block ranges) of a large table."
    ),
    .init(
      "heartbeat_ms", .string, default: "10000", importance: .low, group: "Capture",
      "How often a WAL message is written so an idle slot advances: milliseconds (at least 100) or a duration like 10s."
    ),
    .init(
      "drop_slot_on_delete", .boolean, default: "false", importance: .low, group: "Capture",
      "Drop the slot when the connector is deleted (after the worker's removal grace period)."),
    .init(
      "tombstones_on_delete", .boolean, default: "true", importance: .low, group: "Events",
      "Write a record with a null value after each delete, as Debezium does, so compaction can drop the key."
    ),
    .init(
      "slot_warn_retained_wal", .string, default: "1GiB", importance: .medium,
      group: "Slot health",
      "When the WAL the slot holds back (pg_current_wal_lsn() - restart_lsn) is above this size, the task and GET /health say DEGRADED with the reason: a size like 512MB or 2GiB, or off. A replay_window is retained WAL too: keep this above it."
    ),
    .init(
      "slot_fail_retained_wal", .string, default: "off", importance: .medium,
      group: "Slot health",
      "Above this size the task's warning is CRITICAL and GET /health answers 503; the task keeps streaming. A size (at least slot_warn_retained_wal), or off. A replay_window counts in the retained WAL."
    ),
    .init(
      "slot_health_poll_ms", .string, default: "10000", importance: .low, group: "Slot health",
      "How often the slot's retained WAL, wal_status and safe_wal_size are read: milliseconds (at least 100) or a duration like 10s."
    ),
    .init(
      "replay_window", .string, default: "0", importance: .medium, group: "Replay",
      "Keep this much WAL behind the durable point decodable in the slot (a size like 512MiB; 0: none), so the connector can be moved back to an LSN inside it (sluice replay, PATCH offsets). The slot retains that much more WAL: keep slot_warn_retained_wal above it."
    ),
    .init(
      "decimal_handling", .string, default: "precise", importance: .medium, group: "Events",
      allowed: ValueConversionOptions.DecimalHandling.allCases.map(\.rawValue),
      "Debezium's decimal.handling.mode for numeric, decimal and money: precise (base64 of the unscaled value; {scale, value} for numeric without a scale), double, or string."
    ),
    .init(
      "time_precision", .string, default: "adaptive", importance: .medium, group: "Events",
      allowed: ValueConversionOptions.TimePrecision.allCases.map(\.rawValue),
      "Debezium's time.precision.mode: adaptive (dates as days since the epoch; times and timestamps in ms up to precision 3, else µs), adaptive_time_microseconds, connect (days, ms, ms) or isostring."
    ),
    .init(
      "interval_handling", .string, default: "numeric", importance: .low, group: "Events",
      allowed: ValueConversionOptions.IntervalHandling.allCases.map(\.rawValue),
      "Debezium's interval.handling.mode: numeric (approximate microseconds) or string (ISO-8601, P1Y2M3DT4H5M6.5S)."
    ),
    .init(
      "binary_handling", .string, default: "bytes", importance: .low, group: "Events",
      allowed: ValueConversionOptions.BinaryHandling.allCases.map(\.rawValue),
      "Debezium's binary.handling.mode for bytea: bytes (base64 in JSON), base64, base64-url-safe or hex."
    ),
    .init(
      "hstore_handling", .string, default: "json", importance: .low, group: "Events",
      allowed: ValueConversionOptions.HstoreHandling.allCases.map(\.rawValue),
      "Debezium's hstore.handling.mode: json (a string of JSON) or map (a JSON object)."),
    .init(
      "provide_transaction_metadata", .boolean, default: "false", importance: .low,
      group: "Events",
      "Debezium's provide.transaction.metadata: a BEGIN record before each transaction's events and an END record with its event counts after them, to transaction_topic, and a transaction block (id, total_order, data_collection_order) in each event."
    ),
    .init(
      "transaction_topic", .string, importance: .low, group: "Events",
      "The topic of the BEGIN and END records; default <server>.transaction, as Debezium's <topic.prefix>.transaction. <server> is the topic prefix of a topic template <prefix>.{schema}.{table}, else the connector's name."
    ),
    .init(
      "heartbeat_topic", .string, default: "false", importance: .low, group: "Events",
      "Debezium's heartbeat records ({\"serverName\": <server>} → {\"ts_ms\": …}) every heartbeat_ms, beside the WAL heartbeat: false, true (topic __debezium-heartbeat.<server>) or a topic name. <server> is the topic prefix of a topic template <prefix>.{schema}.{table} (Debezium's topic.prefix), else the connector's name."
    ),
    .init(
      "schemas", .boolean, default: "false", importance: .medium, group: "Events",
      "Keys and values as Kafka Connect's JSON converter writes them with schemas.enable=true: {\"schema\": …, \"payload\": …}, with Debezium's schemas (<topic>.Key, <topic>.Envelope, io.debezium.time.Date, org.apache.kafka.connect.data.Decimal…); the unwrap transform then writes rows with their <topic>.Value schema."
    ),
  ] + IncrementalSnapshotConfig.definitions
  static let topicPlaceholders = ["schema", "table", "db"]

  init(definition: ConnectorDefinition) throws {
    name = definition.name
    let m = try definition.configMapping(Self.definitions)
    let urlNode = try m.required("url")
    url = try urlNode.string()
    guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") || url.contains("=")
    else {
      throw urlNode.error(
        "expected a PostgreSQL URL like postgresql://user@127.0.0.1:5432/db, got \(CredentialMask.masking(urlNode.kindDescription))"
      )
    }
    password = try m.optionalString("password")

    let tablesNode = try m.required("tables")
    if case .scalar(let text) = tablesNode.content {
      guard text == "*" else {
        throw tablesNode.error(
          "expected a list of tables like [public.orders] or \"*\", got '\(text)'")
      }
      tables = .all
    } else {
      let names = try tablesNode.stringList()
      guard !names.isEmpty else { throw tablesNode.error("expected at least one table") }
      var parsed: [QualifiedName] = []
      for text in names {
        guard let name = QualifiedName(parsing: text) else {
          throw tablesNode.error("expected schema.table or table, got '\(text)'")
        }
        if !parsed.contains(name) { parsed.append(name) }
      }
      tables = .listed(parsed)
    }

    // Slot names allow only lower-case letters, digits and underscores (PostgreSQL's rule).
    let defaultName =
      "sluice_"
      + String(
        definition.name.lowercased().map {
          ("a"..."z").contains($0) || ("0"..."9").contains($0) ? $0 : "_"
        })
    let slotNode = m.node("slot")
    slot = try m.string("slot", default: defaultName)
    if slot.isEmpty || slot.utf8.count > 63
      || !slot.unicodeScalars.allSatisfy({
        ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
      })
    {
      throw (slotNode ?? definition.config).error(
        "a replication slot name has 1 to 63 characters: lower-case letters, digits and '_'; got '\(slot)'"
      )
    }
    publication = try m.string("publication", default: slot)
    snapshot =
      Snapshot(
        rawValue: try m.oneOf(
          "snapshot", allowed: ["initial", "never", "initial_only"], default: "initial"))
      ?? .initial
    snapshotMaxThreads = try m.int("snapshot_max_threads", default: 1, range: 1...64)
    heartbeatInterval = try m.duration("heartbeat_ms", default: .seconds(10))
    if heartbeatInterval < .milliseconds(100), let node = m.node("heartbeat_ms") {
      throw node.error("expected at least 100 ms, got \(heartbeatInterval.inMilliseconds)")
    }
    dropSlotOnDelete = try m.bool("drop_slot_on_delete", default: false)
    tombstonesOnDelete = try m.bool("tombstones_on_delete", default: true)
    slotThresholds = try SlotThresholds(m)
    slotHealthPollInterval = try m.duration("slot_health_poll_ms", default: .seconds(10))
    if slotHealthPollInterval < .milliseconds(100), let node = m.node("slot_health_poll_ms") {
      throw node.error("expected at least 100 ms, got \(slotHealthPollInterval.inMilliseconds)")
    }
    replayWindowBytes = try ReplayWindow.bytes(m)
    // The window is WAL the slot holds on purpose: a warning line below it would say DEGRADED
    // for as long as the connector runs.
    if replayWindowBytes > 0, let warn = slotThresholds.warn, Int64(replayWindowBytes) >= warn,
      let node = m.node("replay_window")
    {
      throw node.error(
        "a replay window of \(ByteSize.text(Int64(replayWindowBytes))) keeps at least that much WAL in the slot, which is at or above slot_warn_retained_wal (\(ByteSize.text(warn))): the slot would always be DEGRADED. Raise slot_warn_retained_wal above the window, or make the window smaller"
      )
    }

    conversion = try Self.conversion(m)
    conversion.schemas = try m.bool("schemas", default: false)
    incremental = try IncrementalSnapshotConfig(m)

    let topicNode = try definition.requiredTopicNode()
    do throws(TemplateError) {
      topic = try TopicTemplate(definition.topic ?? "")
      try topic.validate(
        isKnown: { Self.topicPlaceholders.contains($0) }, known: "{schema}, {table} and {db}")
    } catch {
      throw topicNode.error(error.message)
    }
    serverName = Self.serverName(topic: topic, name: definition.name)
    (transactionMetadata, heartbeatTopic) = try Self.debeziumTopics(
      m, serverName: serverName)
  }

  /// ``serverName``: the prefix of `<prefix>.{schema}.{table}`, else the connector's name.
  static func serverName(topic: TopicTemplate, name: String) -> String {
    let suffix = ".{schema}.{table}"
    if topic.text.hasSuffix(suffix) {
      let prefix = String(topic.text.dropLast(suffix.count))
      if !prefix.isEmpty && !prefix.contains("{") { return prefix }
    }
    return name
  }
}

extension CDCConfig {
  /// The connector's name with what a topic name cannot hold as `_` (as table topics are).
  fileprivate static func topicSafe(_ name: String) -> String {
    String(String.UnicodeScalarView(name.unicodeScalars.map { TopicName.isLegal($0) ? $0 : "_" }))
  }

  /// `provide_transaction_metadata` with `transaction_topic` (default `<server name>.transaction`)
  /// and `heartbeat_topic` (`true`: `__debezium-heartbeat.<server name>`), named as Debezium
  /// names them by its `topic.prefix`; a topic name that cannot be one is an error at its line.
  fileprivate static func debeziumTopics(_ m: ConfigMapping, serverName: String)
    throws -> (TransactionMetadata?, String?)
  {
    func topic(_ key: String, _ text: String) throws -> String {
      if let problem = TopicName.problem(with: text),
        let node = m.node(key) ?? m.node("provide_transaction_metadata")
      {
        throw node.error("'\(text)' cannot name a topic: \(problem)")
      }
      return text
    }
    var metadata: TransactionMetadata?
    if try m.bool("provide_transaction_metadata", default: false) {
      let text = try m.string(
        "transaction_topic",
        default: topicSafe(serverName) + "." + TransactionMetadata.defaultSuffix)
      metadata = TransactionMetadata(topic: try topic("transaction_topic", text))
    } else if let node = m.node("transaction_topic") {
      throw node.error(
        "transaction_topic names the topic of transaction metadata records: set provide_transaction_metadata: true, or remove it"
      )
    }
    var heartbeat: String?
    switch try m.string("heartbeat_topic", default: "false") {
    case "false": heartbeat = nil
    case "true": heartbeat = DebeziumHeartbeat.defaultPrefix + "." + topicSafe(serverName)
    case let text: heartbeat = try topic("heartbeat_topic", text)
    }
    return (metadata, heartbeat)
  }

  /// The conversion modes from `decimal_handling`, `time_precision`, `interval_handling`,
  /// `binary_handling` and `hstore_handling`; a value not allowed is an error at its line.
  fileprivate static func conversion(_ m: ConfigMapping) throws -> ValueConversionOptions {
    func mode<Mode: RawRepresentable & CaseIterable>(_ key: String, _ fallback: Mode) throws
      -> Mode where Mode.RawValue == String
    {
      let text = try m.oneOf(
        key, allowed: Mode.allCases.map(\.rawValue), default: fallback.rawValue)
      return Mode(rawValue: text) ?? fallback
    }
    let defaults = ValueConversionOptions.debezium
    return ValueConversionOptions(
      decimal: try mode("decimal_handling", defaults.decimal),
      time: try mode("time_precision", defaults.time),
      interval: try mode("interval_handling", defaults.interval),
      binary: try mode("binary_handling", defaults.binary),
      hstore: try mode("hstore_handling", defaults.hstore))
  }
}

/// A table's schema and name as PostgreSQL spells them (unquoted, case kept).
struct QualifiedName: Sendable, Hashable, Codable, CustomStringConvertible {
  var schema: String
  var table: String

  init(schema: String, table: String) {
    self.schema = schema
    self.table = table
  }

  /// `schema.table`, or `table` in schema `public`; `"Odd.Name"` quotes keep dots and case.
  init?(parsing text: String) {
    var parts: [String] = []
    var current = ""
    var quoted = false
    var index = text.startIndex
    while index < text.endIndex {
      let c = text[index]
      if c == "\"" {
        let next = text.index(after: index)
        if quoted, next < text.endIndex, text[next] == "\"" {
          current.append("\"")
          index = text.index(after: next)
          continue
        }
        quoted.toggle()
      } else if c == ".", !quoted {
        parts.append(current)
        current = ""
      } else {
        current.append(c)
      }
      index = text.index(after: index)
    }
    parts.append(current)
    guard !quoted, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
    switch parts.count {
    case 1: self.init(schema: "public", table: parts[0])
    case 2: self.init(schema: parts[0], table: parts[1])
    default: return nil
    }
  }

  var description: String { "\(schema).\(table)" }

  /// The name quoted for SQL.
  var quoted: String { "\(quoteIdentifier(schema)).\(quoteIdentifier(table))" }
}

/// `"name"` with embedded quotes doubled, for identifiers in SQL text.
func quoteIdentifier(_ name: String) -> String {
  "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// `'text'` with embedded quotes doubled, for literals in replication commands (which take no
/// parameters).
func quoteLiteral(_ text: String) -> String {
  "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
}
