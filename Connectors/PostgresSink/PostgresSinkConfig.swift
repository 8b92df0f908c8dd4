import SluiceCore

/// `sink: postgres` settings, validated before the worker starts the connector.
struct PostgresSinkConfig: Sendable {
  /// How a record's row reaches its table.
  enum Mode: String, Sendable { case insert, upsert, update }

  var name: String
  var url: String
  var password: String?
  var schema: String
  /// `table:` with `{topic}`, `{source.schema}`, `{source.table}`, `{source.db}`; nil: the last
  /// dot-separated part of the topic.
  var table: [TopicTemplate.Part]?
  var mode: Mode
  var primaryKey: [String]
  /// Column name → field name of the value, in the order given; empty: every field as is.
  var columns: [(column: String, field: String)]
  var delete: Bool
  var truncate: Bool
  var autoCreate: Bool
  var autoEvolve: Bool
  var batchSize: Int
  /// `linger_ms`: how long a batch waits to fill.
  var linger: Duration
  var offsetsTable: String

  /// The `config:` keys, as `/connector-plugins` describes them.
  static let definitions: [ConfigKeyDefinition] = [
    .init(
      "url", .string, required: true, importance: .high, group: "Connection",
      displayName: "PostgreSQL URL",
      "The target database, as a libpq URL (postgresql://user@host:5432/db) or key=value string."),
    .init(
      "password", .password, importance: .high, group: "Connection",
      "The user's password; overrides one in the URL. Best given as ${env:NAME} or ${file:/path}."),
    .init(
      "schema", .string, default: "public", importance: .medium, group: "Tables",
      "The schema of the target tables."),
    .init(
      "table", .string, importance: .high, group: "Tables",
      "The target table, a name or a template with {topic}, {source.schema}, {source.table}, {source.db}; default: the last dot-separated part of the topic."
    ),
    .init(
      "mode", .string, default: "insert", importance: .high, group: "Writes",
      allowed: ["insert", "upsert", "update"],
      "insert: COPY rows in; upsert: insert or update by primary key (needs a unique index on it); update: update existing rows by primary key."
    ),
    .init(
      "primary_key", .list, importance: .medium, group: "Writes", shape: .list,
      "The primary-key columns, taken from the record key (a JSON object, or a plain key for one column) or else the value; default: the fields of the record key."
    ),
    .init(
      "columns", .string, importance: .low, group: "Writes", shape: .mapping,
      "Column names mapped to value fields (columns.<column>=<field>); default: every field to the column of its name."
    ),
    .init(
      "delete", .boolean, default: "true", importance: .medium, group: "Writes",
      "Apply deletes (Debezium op d) and tombstones as row deletes by key."),
    .init(
      "truncate", .boolean, default: "false", importance: .low, group: "Writes",
      "Apply Debezium truncate events (op t) as TRUNCATE."),
    .init(
      "auto_create", .boolean, default: "false", importance: .medium, group: "Tables",
      "Create a missing table from the first record's fields."),
    .init(
      "auto_evolve", .boolean, default: "false", importance: .medium, group: "Tables",
      "Add a column for a field the table lacks."),
    .init(
      "batch_size", .int, default: "1000", importance: .medium, group: "Writes",
      "Records per transaction (1 to 100000)."),
    .init(
      "linger_ms", .string, default: "0", importance: .low, group: "Writes",
      "How long a batch waits to fill: milliseconds or a duration like 200ms."),
    .init(
      "offsets_table", .string, default: "sluice_sink_offsets", importance: .low,
      group: "Tables",
      "The table that holds the sink's offsets, written in the same transaction as each batch."),
  ]
  static let tablePlaceholders = ["topic", "source.schema", "source.table", "source.db"]

  init(definition: ConnectorDefinition) throws {
    name = definition.name
    let m = try definition.configMapping(Self.definitions)
    url = try m.postgresURL("url")
    password = try m.optionalString("password")
    schema = try m.string("schema", default: "public")
    if let node = m.node("table") {
      // Table names are quoted identifiers, so unlike topic names any character may appear.
      let text = try node.string()
      if !text.contains("{") && !text.contains("}") {
        table = [.literal(text)]
      } else {
        let template: TopicTemplate
        do throws(TemplateError) {
          template = try TopicTemplate(text)
        } catch {
          throw node.error(error.message)
        }
        for name in template.placeholders where !Self.tablePlaceholders.contains(name) {
          throw node.error(
            "unknown placeholder {\(name)}; expected \(Self.tablePlaceholders.map { "{\($0)}" }.joined(separator: ", "))"
          )
        }
        table = template.parts
      }
    }
    mode = Mode(
      rawValue: try m.oneOf("mode", allowed: ["insert", "upsert", "update"], default: "insert"))!
    primaryKey = m.has("primary_key") ? try m.stringList("primary_key") : []
    columns = []
    if let node = m.node("columns") {
      guard case .mapping(let entries) = node.content else {
        throw node.error("expected a mapping of column: field")
      }
      columns = try entries.map { ($0.key, try $0.value.string()) }
    }
    delete = try m.bool("delete", default: true)
    truncate = try m.bool("truncate", default: false)
    autoCreate = try m.bool("auto_create", default: false)
    autoEvolve = try m.bool("auto_evolve", default: false)
    batchSize = try m.int("batch_size", default: 1000, range: 1...100_000)
    linger = try m.duration("linger_ms", default: .zero)
    offsetsTable = try m.string("offsets_table", default: "sluice_sink_offsets")
  }
}

/// A validated `sink: postgres` connector.
struct PostgresSinkConnector: SinkConnector {
  let config: PostgresSinkConfig

  init(definition: ConnectorDefinition) throws {
    config = try PostgresSinkConfig(definition: definition)
  }

  var batching: SinkBatching {
    SinkBatching(maxRecords: config.batchSize, linger: config.linger)
  }

  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask {
    PostgresSinkTask(config: config, context: context)
  }
}

/// Registers `sink: postgres`.
public enum PostgresSinkConnectors {
  public static func register(in registry: inout ConnectorRegistry) {
    registry.register(
      .sink(
        "postgres", definitions: PostgresSinkConfig.definitions, readsSchemaEnvelopes: true
      ) { try PostgresSinkConnector(definition: $0) })
    JDBCSinkTranslators.register(in: &registry)
  }
}
