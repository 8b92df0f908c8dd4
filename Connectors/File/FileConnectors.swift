import SluiceCore

/// Registers the `file` source and sink, Sluice's counterparts of Kafka's FileStream connectors.
public enum FileConnectors {
  public static func register(in registry: inout ConnectorRegistry) {
    let converters: Set<String> = [
      ConnectCommonKeys.stringConverter, ConnectCommonKeys.jsonConverter,
    ]
    registry.register(
      .source("file", definitions: FileSourceConfig.definitions, converters: converters) {
        try FileSourceConnector(definition: $0)
      })
    registry.register(
      .sink("file", definitions: FileSinkConfig.definitions, converters: converters) {
        try FileSinkConnector(definition: $0)
      })
    FileStreamTranslators.register(in: &registry)
  }
}

/// `source: file` settings.
struct FileSourceConfig: Sendable {
  var path: String
  var topic: String
  var batchLines: Int
  var pollInterval: Duration
  var startAtEnd: Bool
  /// Lines longer than this are record errors (``FileSourceTask`` says what becomes of them).
  var maxLineBytes: Int
  /// Where an overlong line goes: the dead-letter topic with `errors.tolerance: all`, else nil
  /// (the task fails with the reason).
  var deadLetterTopic: String?

  /// The `config:` keys, as `/connector-plugins` describes them.
  static let definitions: [ConfigKeyDefinition] = [
    .init(
      "path", .string, required: true, importance: .high, group: "File",
      "The file to tail; waited for if it does not exist yet. Rotation by rename and truncation are followed."
    ),
    .init(
      "start", .string, default: "beginning", importance: .medium, group: "File",
      allowed: ["beginning", "end"],
      "Where the first start reads from: the beginning of the file or its end (later starts resume)."
    ),
    .init(
      "batch_lines", .int, default: "1000", importance: .low, group: "File",
      "Lines per durable append (1 to 100000)."),
    .init(
      "poll_ms", .string, default: "200", importance: .low, group: "File",
      "How often to look for more at the end of the file: milliseconds, or a duration like 500ms or 1s."
    ),
    .init(
      "max_line_bytes", .string, default: "1000KiB", importance: .low, group: "File",
      "The longest line; a longer one is a record error (dead-lettered with errors.tolerance=all). A size like 1000KiB."
    ),
  ]
}

/// `sink: file` settings.
struct FileSinkConfig: Sendable {
  enum Format: String, Sendable { case json, value }
  var path: String
  var format: Format

  /// The `config:` keys, as `/connector-plugins` describes them.
  static let definitions: [ConfigKeyDefinition] = [
    .init(
      "path", .string, required: true, importance: .high, group: "File",
      "The file records are appended to; created if missing."),
    .init(
      "format", .string, default: "json", importance: .medium, group: "File",
      allowed: ["json", "value"],
      "json: one JSON line per record (topic, partition, offset, key, value, headers), exactly once; value: only the values, one per line, at least once."
    ),
  ]
}

/// A validated `source: file` connector.
struct FileSourceConnector: SourceConnector {
  let config: FileSourceConfig

  init(definition: ConnectorDefinition) throws {
    let m = try definition.configMapping(FileSourceConfig.definitions)
    let topicNode = try definition.requiredTopicNode()
    let template: TopicTemplate
    do {
      template = try TopicTemplate(definition.topic ?? "")
      try template.validate(
        isKnown: { _ in false }, known: "no placeholders (a file source writes one topic)")
    } catch {
      throw topicNode.error(error.message)
    }
    config = FileSourceConfig(
      path: try m.string("path"),
      topic: template.text,
      batchLines: try m.int("batch_lines", default: 1000, range: 1...100_000),
      pollInterval: try m.duration("poll_ms", default: .milliseconds(200)),
      startAtEnd: try m.oneOf("start", allowed: ["beginning", "end"], default: "beginning")
        == "end",
      // Below log.max_record_bytes' default (1 MiB) by room for the record's headers.
      maxLineBytes: Int(try m.bytes("max_line_bytes", default: 1000 << 10)),
      deadLetterTopic: definition.sinkErrorPolicy.tolerateAll
        ? definition.sinkErrorPolicy.deadLetterTopic : nil
    )
  }

  /// One: a file has one reader; more tasks would read the same lines (Kafka's
  /// FileStreamSourceConnector also makes one task config whatever `tasks.max` is).
  func taskCount(maxTasks: Int) -> Int { 1 }

  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
    FileSourceTask(config: config, context: context)
  }
}

/// A validated `sink: file` connector.
struct FileSinkConnector: SinkConnector {
  let config: FileSinkConfig

  init(definition: ConnectorDefinition) throws {
    let m = try definition.configMapping(FileSinkConfig.definitions)
    config = FileSinkConfig(
      path: try m.string("path"),
      format: FileSinkConfig.Format(
        rawValue: try m.oneOf("format", allowed: ["json", "value"], default: "json"))!)
  }

  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask {
    try FileSinkTask(config: config, context: context)
  }
}
