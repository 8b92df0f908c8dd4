import Foundation

/// One connector file (DESIGN.md §4): the frame every connector shares — name, type, topics,
/// tasks, error handling — with the type's own `config:` section kept as a located node, so the
/// connector validates it with the same precision.
public struct ConnectorDefinition: Sendable {
  public enum Role: Sendable, Equatable {
    case source(String)
    case sink(String)
  }

  public static let topLevelKeys = [
    "name", "source", "sink", "topic", "topics", "tasks", "errors", "config", "transforms",
    "predicates",
  ]

  public var name: String
  public var role: Role
  /// The `source:`/`sink:` value, for errors about the type.
  public var typeNode: ConfigNode
  /// Sources: the topic template.
  public var topic: String?
  public var topicNode: ConfigNode?
  /// Sinks: the topics to read.
  public var topics: [String]
  public var tasks: Int
  public var sinkErrorPolicy: SinkErrorPolicy
  /// The connector type's own settings (a null node when the file has none).
  public var config: ConfigNode
  public var file: String
  /// Changes whenever the file's text changes, so a watcher can tell an edited file.
  public var fingerprint: String
  /// Whether the file named `errors.dlq_topic` itself (rather than taking `<name>.dlq`); sources
  /// use it to tell "dead-letter bad input" from "count and drop it".
  public var deadLetterTopicIsExplicit = false
  /// The `name:` value, for errors about the name (a second file claiming it).
  public var nameNode: ConfigNode?
  /// `transforms:` (with `predicates:`): applied to every record between a source and the store,
  /// or between the store and a sink (DESIGN.md §9).
  public var transforms = TransformChain()
  /// The connector in Kafka Connect's flat form: for a file written in that form (JSON,
  /// `.properties`, or YAML with `config.connector.class`) exactly what it says; for a Sluice
  /// YAML file its flattening (``NativeConnectForm``), which translates back to an equal
  /// definition. Values are as written (`${env:…}` unexpanded).
  public var connectConfig = ConnectConfig()
  /// The `config:` keys the connector has looked up (``configMapping(_:)``), shared by copies.
  public let configKeysRead = ConfigKeyReads()

  /// The `config:` section as a mapping with the top-level keys of `definitions` (the
  /// connector's declared keys, the one list of them); the keys the connector then reads are
  /// recorded in ``configKeysRead``.
  public func configMapping(_ definitions: [ConfigKeyDefinition]) throws(ConfigError)
    -> ConfigMapping
  {
    var mapping = try config.mapping(allowedKeys: definitions.topLevelKeys)
    mapping.reads = configKeysRead
    return mapping
  }

  /// The `topic:` node; sources call it to report template errors in place.
  public func requiredTopicNode() throws(ConfigError) -> ConfigNode {
    guard let topicNode else { throw typeNode.error("a source needs 'topic'") }
    return topicNode
  }

  /// Reads and parses a connector file; its `${file:}` references may read beside it.
  public static func load(
    path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
    registry: ConnectorRegistry? = nil
  ) throws(ConfigError)
    -> ConnectorDefinition
  {
    try load(
      path: path,
      interpolation: .beside(path, environment: environment), registry: registry)
  }

  /// Reads and parses a connector file with these interpolation rules (the worker's
  /// `secrets_dirs`).
  public static func load(
    path: String, interpolation: Interpolation, registry: ConnectorRegistry? = nil
  ) throws(ConfigError) -> ConnectorDefinition {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ConfigError(
        file: path, line: 1, column: 1, key: "",
        message: "cannot read the file: \((error as NSError).localizedDescription)")
    }
    return try parse(text: text, file: path, interpolation: interpolation, registry: registry)
  }

  public static func parse(
    text: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment
  )
    throws(ConfigError) -> ConnectorDefinition
  {
    try parse(
      text: text, file: file,
      interpolation: .beside(file, environment: environment))
  }

  public static func parse(
    text: String, file: String, interpolation: Interpolation, registry: ConnectorRegistry? = nil
  ) throws(ConfigError) -> ConnectorDefinition {
    if file.hasSuffix(".properties") {
      return try connectForm(
        ConnectConfigFile.parseProperties(text: text, file: file), text: text, file: file,
        interpolation: interpolation, registry: registry)
    }
    let written = try ConfigNode.parseAsWritten(text: text, file: file)
    if ConnectConfigFile.isConnectForm(written) {
      return try connectForm(
        ConnectConfigFile.parse(root: written), text: text, file: file,
        interpolation: interpolation, registry: registry)
    }
    let root = try ConfigNode.parse(text: text, file: file, interpolation: interpolation)
    var definition = try ConnectorDefinition(root: root, file: file, fingerprint: text)
    definition.connectConfig = NativeConnectForm.flatten(written, definition: definition)
    return definition
  }

  /// A file in Kafka Connect's form, translated by the plugin its `connector.class` names.
  private static func connectForm(
    _ parsed: ConnectConfigFile, text: String, file: String, interpolation: Interpolation,
    registry: ConnectorRegistry?
  ) throws(ConfigError) -> ConnectorDefinition {
    guard let name = parsed.name else {
      throw ConfigError(
        file: file, line: 1, column: 1, key: "name",
        message: "Missing required configuration \"name\" which has no default value.")
    }
    guard let registry else {
      throw ConfigError(
        file: file, line: 1, column: 1, key: "connector.class",
        message:
          "a Kafka Connect config is translated by the worker's connector registry, which this reader was not given"
      )
    }
    try checkName(
      name,
      at: parsed.nameEntry?.error("")
        ?? ConfigError(file: file, line: 1, column: 1, key: "name", message: ""))
    var definition = try registry.definition(
      name: name, config: parsed.config, file: file, interpolation: interpolation)
    definition.fingerprint = text
    if let entry = parsed.nameEntry {
      definition.nameNode = ConfigNode(
        file: file, path: "name", line: entry.line, column: entry.column, content: .scalar(name))
    }
    return definition
  }

  private static func checkName(_ name: String, at location: ConfigError) throws(ConfigError) {
    if name.isEmpty || name.unicodeScalars.contains(where: { !TopicName.isLegal($0) }) {
      var error = location
      error.message = "a connector name uses letters, digits, '.', '_' and '-', got '\(name)'"
      throw error
    }
  }

}

extension ConnectorDefinition {
  /// The frame of a connector file whose scalars are already interpolated: name, type, topics,
  /// tasks and error handling are checked here; `config:` is kept for the connector.
  init(root: ConfigNode, file: String, fingerprint: String) throws(ConfigError) {
    let m = try root.mapping(allowedKeys: Self.topLevelKeys)
    let nameNode = try m.required("name")
    let name = try nameNode.string()
    if name.isEmpty || name.unicodeScalars.contains(where: { !TopicName.isLegal($0) }) {
      throw nameNode.error(
        "a connector name uses letters, digits, '.', '_' and '-', got \(nameNode.kindDescription)")
    }
    let role: Role
    let typeNode: ConfigNode
    switch (m.node("source"), m.node("sink")) {
    case (let source?, nil):
      typeNode = source
      role = .source(try source.string())
    case (nil, let sink?):
      typeNode = sink
      role = .sink(try sink.string())
    default:
      throw root.error("a connector file needs exactly one of 'source' or 'sink'")
    }

    var topic: String?
    var topics: [String] = []
    switch role {
    case .source:
      if let t = m.node("topics") {
        throw t.error("a source writes one 'topic' (a template), not 'topics'")
      }
      guard let t = m.node("topic") else {
        throw root.error("missing required key 'topic' (the topic this source writes)")
      }
      topic = try t.string()
    case .sink:
      if let t = m.node("topic") { throw t.error("a sink reads 'topics' (a list), not 'topic'") }
      guard let t = m.node("topics") else {
        throw root.error("missing required key 'topics' (the topics this sink reads)")
      }
      topics = try t.stringList()
      if topics.isEmpty { throw t.error("expected at least one topic") }
      for (i, name) in topics.enumerated() {
        if let problem = TopicName.problem(with: name) {
          throw (try? t.list()[i].error(problem)) ?? t.error(problem)
        }
      }
    }

    var policy = SinkErrorPolicy()
    if let errors = m.node("errors") {
      let e = try errors.mapping(allowedKeys: [
        "tolerance", "dlq_topic", "retries", "retry_backoff_ms", "max_retry_backoff_ms",
      ])
      policy.tolerateAll =
        try e.oneOf("tolerance", allowed: ["none", "all"], default: "none") == "all"
      policy.deadLetterTopic = try e.optionalString("dlq_topic")
      if let dlq = e.node("dlq_topic"),
        let problem = TopicName.problem(with: policy.deadLetterTopic ?? "")
      {
        throw dlq.error(problem)
      }
      policy.retries = try e.int("retries", default: 5, range: 0...1_000_000)
      policy.initialBackoff = try e.duration("retry_backoff_ms", default: .milliseconds(100))
      policy.maximumBackoff = try e.duration("max_retry_backoff_ms", default: .seconds(10))
    }
    let deadLetterTopicIsExplicit = policy.deadLetterTopic != nil
    if policy.deadLetterTopic == nil { policy.deadLetterTopic = "\(name).dlq" }

    let configNode =
      m.node("config")
      ?? ConfigNode(
        file: file, path: "config", line: root.line, column: root.column, content: .null)
    self.init(
      name: name, role: role, typeNode: typeNode, topic: topic, topicNode: m.node("topic"),
      topics: topics,
      tasks: try m.int("tasks", default: 1, range: 1...256), sinkErrorPolicy: policy,
      config: configNode, file: file,
      fingerprint: fingerprint)
    self.deadLetterTopicIsExplicit = deadLetterTopicIsExplicit
    self.nameNode = nameNode
    self.transforms = try TransformChainConfig.build(
      transforms: m.node("transforms"), predicates: m.node("predicates"))
  }
}

/// All connector files of a folder: the valid definitions and the errors of the others.
public enum ConnectorDirectory {
  /// Reads the folder once; a folder that cannot be listed is one error (start-up refuses it).
  public static func load(
    directory: String, environment: [String: String] = ProcessInfo.processInfo.environment,
    registry: ConnectorRegistry? = nil
  )
    -> (definitions: [ConnectorDefinition], errors: [ConfigError])
  {
    var reader = ConnectorFolderReader(
      directory: directory, environment: environment, registry: registry)
    switch reader.read() {
    case .unreadable(let error): return ([], [error])
    case .read(let definitions, let errors): return (definitions, errors)
    }
  }
}
