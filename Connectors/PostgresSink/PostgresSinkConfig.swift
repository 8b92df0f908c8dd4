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
  var lingerMs: Int64
  var offsetsTable: String

  static let keys = [
    "url", "password", "schema", "table", "mode", "primary_key", "columns", "delete", "truncate",
    "auto_create", "auto_evolve", "batch_size", "linger_ms", "offsets_table",
  ]
  static let tablePlaceholders = ["topic", "source.schema", "source.table", "source.db"]

  init(definition: ConnectorDefinition) throws {
    name = definition.name
    let m = try definition.configMapping(allowedKeys: Self.keys)
    let urlNode = try m.required("url")
    url = try urlNode.string()
    guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") || url.contains("=")
    else {
      throw urlNode.error(
        "expected a PostgreSQL URL like postgresql://user@127.0.0.1:5432/db, got \(CredentialMask.masking(urlNode.kindDescription))"
      )
    }
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
    lingerMs = try m.durationMilliseconds("linger_ms", default: 0)
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
    SinkBatching(maxRecords: config.batchSize, linger: .milliseconds(config.lingerMs))
  }

  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask {
    PostgresSinkTask(config: config, context: context)
  }
}

/// Registers `sink: postgres`.
public enum PostgresSinkConnectors {
  public static func register(in registry: inout ConnectorRegistry) {
    registry.registerSink("postgres") { try PostgresSinkConnector(definition: $0) }
  }
}
