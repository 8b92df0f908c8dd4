import SluiceCore

/// Registers the `file` source and sink, Sluice's counterparts of Kafka's FileStream connectors.
public enum FileConnectors {
  public static func register(in registry: inout ConnectorRegistry) {
    registry.registerSource("file") { try FileSourceConnector(definition: $0) }
    registry.registerSink("file") { try FileSinkConnector(definition: $0) }
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
}

/// `sink: file` settings.
struct FileSinkConfig: Sendable {
  enum Format: String, Sendable { case json, value }
  var path: String
  var format: Format
}

/// A validated `source: file` connector.
struct FileSourceConnector: SourceConnector {
  let config: FileSourceConfig

  init(definition: ConnectorDefinition) throws {
    let m = try definition.configMapping(allowedKeys: [
      "path", "batch_lines", "poll_ms", "start", "max_line_bytes",
    ])
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
      pollInterval: .milliseconds(try m.durationMilliseconds("poll_ms", default: 200)),
      startAtEnd: try m.oneOf("start", allowed: ["beginning", "end"], default: "beginning")
        == "end",
      // Below log.max_record_bytes' default (1 MiB) by room for the record's headers.
      maxLineBytes: Int(try m.bytes("max_line_bytes", default: 1000 << 10)),
      deadLetterTopic: definition.sinkErrorPolicy.tolerateAll
        ? definition.sinkErrorPolicy.deadLetterTopic : nil
    )
  }

  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
    // One file has one reader: extra tasks would read the same lines.
    guard index == 0 else { return IdleSourceTask() }
    return FileSourceTask(config: config, context: context)
  }
}

/// A task with nothing to do (the file source's tasks beyond the first).
struct IdleSourceTask: SourceTask {
  func run() async throws {
    while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
  }
}

/// A validated `sink: file` connector.
struct FileSinkConnector: SinkConnector {
  let config: FileSinkConfig

  init(definition: ConnectorDefinition) throws {
    let m = try definition.configMapping(allowedKeys: ["path", "format"])
    config = FileSinkConfig(
      path: try m.string("path"),
      format: FileSinkConfig.Format(
        rawValue: try m.oneOf("format", allowed: ["json", "value"], default: "json"))!)
  }

  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask {
    try FileSinkTask(config: config, context: context)
  }
}
