import Foundation

/// One connector file (DESIGN.md §4): the frame every connector shares — name, type, topics,
/// tasks, error handling — with the type's own `config:` section kept as a located node, so the
/// connector type validates it later with the same precision.
///
/// ```yaml
/// name: orders-to-warehouse
/// sink: postgres
/// topics: [shop.public.orders]
/// config:
///   url: postgresql://loader@127.0.0.1:5432/warehouse
/// errors: { tolerance: all, dlq_topic: orders.dlq }
/// ```
public struct ConnectorDefinition: Sendable, Equatable {
  /// Whether the connector reads from outside into topics or writes topics out, and its type.
  public enum Role: Sendable, Equatable {
    /// `source: <type>`: writes into the topic(s) of its `topic` template.
    case source(String)
    /// `sink: <type>`: reads its `topics`.
    case sink(String)

    /// The connector type, e.g. `postgres-cdc`.
    public var type: String {
      switch self {
      case .source(let type), .sink(let type): type
      }
    }
  }

  /// `errors:`: what happens to a record a sink cannot apply (DESIGN.md §6).
  public struct ErrorHandling: Sendable, Equatable {
    /// `errors.tolerance`.
    public enum Tolerance: String, Sendable, Equatable, CaseIterable {
      /// Stop the task (status FAILED) once retries are used up; the default.
      case none
      /// Write the record to the dead-letter topic and carry on.
      case all
    }

    /// `tolerance`: `none` (the default) or `all`.
    public var tolerance: Tolerance
    /// `dlq_topic`: the dead-letter topic; `<name>.dlq` by default.
    public var deadLetterTopic: String
    /// `retries`: attempts after the first before giving up on a record (default 5).
    public var retries: Int
    /// `retry_backoff_ms`: the first wait between attempts (default 100 ms), doubling.
    public var retryBackoffMs: Int64
    /// `max_retry_backoff_ms`: the longest wait between attempts (default 10 s).
    public var maxRetryBackoffMs: Int64

    /// The given values, or the defaults for connector `name`.
    public init(
      connectorName name: String, tolerance: Tolerance = .none, deadLetterTopic: String? = nil,
      retries: Int = 5,
      retryBackoffMs: Int64 = 100, maxRetryBackoffMs: Int64 = 10_000
    ) {
      self.tolerance = tolerance
      self.deadLetterTopic = deadLetterTopic ?? "\(name).dlq"
      self.retries = retries
      self.retryBackoffMs = retryBackoffMs
      self.maxRetryBackoffMs = maxRetryBackoffMs
    }

    /// Whether a record that cannot be applied goes to the dead-letter topic.
    public var toleratesAll: Bool { tolerance == .all }
  }

  /// The keys a connector file may have.
  public static let topLevelKeys = [
    "name", "source", "sink", "topic", "topics", "tasks", "errors", "config",
  ]
  /// The keys of the `errors:` section.
  public static let errorKeys = [
    "tolerance", "dlq_topic", "retries", "retry_backoff_ms", "max_retry_backoff_ms",
  ]

  /// `name`: unique among the worker's connectors; letters, digits, `.`, `_` and `-`.
  public var name: String
  /// `source: <type>` or `sink: <type>`.
  public var role: Role
  /// Sources: the `topic` template (`shop.{schema}.{table}`), checked by the connector.
  public var topic: String?
  /// Sinks: the `topics` to read.
  public var topics: [String]
  /// `tasks`: how many tasks to run (at least 1).
  public var tasks: Int
  /// `errors`: retries and the dead-letter topic.
  public var errors: ErrorHandling
  /// The connector type's own settings, a located node (null when the file has none) that
  /// the connector checks with ``configMapping(allowedKeys:)``.
  public var config: ConfigNode
  /// The file this was read from.
  public var file: String
  /// Changes whenever the file's text changes, so a watcher can tell an edited file (a hash
  /// of the raw text, before interpolation).
  public var fingerprint: String

  /// The `name:` value, for errors about the name (a name used twice).
  public var nameNode: ConfigNode
  /// The `source:`/`sink:` value, for errors about the type (an unknown type).
  public var typeNode: ConfigNode
  /// The `topic:` value of a source, for errors in the template.
  public var topicNode: ConfigNode?
  /// The `topics:` value of a sink.
  public var topicsNode: ConfigNode?

  /// The `config:` section as a mapping with these keys; errors point into the file.
  public func configMapping(allowedKeys: [String]) throws(ConfigError) -> ConfigMapping {
    try config.mapping(allowedKeys: allowedKeys)
  }

  /// The `topic:` node; a source calls it to report template errors in place.
  public func requiredTopicNode() throws(ConfigError) -> ConfigNode {
    guard let topicNode else { throw typeNode.error("a source needs 'topic'") }
    return topicNode
  }

  // MARK: - Loading

  /// Reads and validates a connector file.
  public static func load(
    path: String, environment: [String: String] = ProcessInfo.processInfo.environment
  )
    throws(ConfigError) -> ConnectorDefinition
  {
    try parse(text: ConfigNode.readConfigFile(path), file: path, environment: environment)
  }

  /// Validates a connector file's text; `file` names it in errors.
  public static func parse(
    text: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(ConfigError) -> ConnectorDefinition {
    let root = try ConfigNode.parse(text: text, file: file, environment: environment)
    return try ConnectorDefinition(root, fingerprint: ConfigFile.fingerprint(of: text))
  }

  /// A definition from a parsed file's root node.
  public init(_ root: ConfigNode, fingerprint: String) throws(ConfigError) {
    let m = try root.mapping(allowedKeys: Self.topLevelKeys)
    file = root.file
    self.fingerprint = fingerprint

    nameNode = try m.required("name")
    name = try nameNode.string()
    if name.isEmpty || name.unicodeScalars.contains(where: { !Self.isNameCharacter($0) }) {
      throw nameNode.error(
        "a connector name uses only letters, digits, '.', '_' and '-', got '\(name)'")
    }

    switch (m.entry("source"), m.entry("sink")) {
    case (_?, nil):
      typeNode = try m.required("source")
      role = .source(try Self.type(typeNode))
    case (nil, _?):
      typeNode = try m.required("sink")
      role = .sink(try Self.type(typeNode))
    case (let source?, let sink?):
      let second =
        source.line > sink.line || (source.line == sink.line && source.column > sink.column)
        ? source : sink
      throw second.error("a connector file needs exactly one of 'source' or 'sink'")
    case (nil, nil):
      throw root.error("a connector file needs exactly one of 'source' or 'sink'")
    }

    switch role {
    case .source:
      if let entry = m.entry("topics") {
        throw entry.error("a source writes to one 'topic' (a template), not 'topics'")
      }
      let node = try m.required("topic")
      topic = try node.string()
      if topic!.isEmpty { throw node.error("expected a topic name or template, got ''") }
      topicNode = node
      topics = []
      topicsNode = nil
    case .sink:
      if let entry = m.entry("topic") {
        throw entry.error("a sink reads a list of 'topics', not 'topic'")
      }
      let node = try m.required("topics")
      topics = try node.stringList()
      if topics.isEmpty { throw node.error("expected at least one topic") }
      let items = (try? node.list()) ?? [node]
      for (item, topic) in zip(items, topics) {
        if let problem = Self.topicNameProblem(topic) { throw item.error(problem) }
      }
      topicsNode = node
      topic = nil
      topicNode = nil
    }

    tasks = try m.int("tasks", default: 1, range: 1...Int.max)
    errors = try Self.errorHandling(
      m.mapping("errors", allowedKeys: Self.errorKeys), connectorName: name)
    config = m.node("config") ?? ConfigNode.absent("config", in: root)
    _ = try config.mapping(allowedKeys: config.mappingKeys)  // a mapping, or an error here
  }

  private static func type(_ node: ConfigNode) throws(ConfigError) -> String {
    let type = try node.string()
    if type.isEmpty { throw node.error("expected a connector type, got ''") }
    return type
  }

  private static func errorHandling(_ m: ConfigMapping, connectorName: String) throws(ConfigError)
    -> ErrorHandling
  {
    var errors = ErrorHandling(connectorName: connectorName)
    errors.tolerance = ErrorHandling.Tolerance(
      rawValue: try m.oneOf(
        "tolerance", allowed: ErrorHandling.Tolerance.allCases.map(\.rawValue),
        default: errors.tolerance.rawValue))!
    if let node = m.node("dlq_topic") {
      errors.deadLetterTopic = try node.string()
      if let problem = topicNameProblem(errors.deadLetterTopic) { throw node.error(problem) }
    }
    errors.retries = try m.int("retries", default: errors.retries, range: 0...1_000_000)
    errors.retryBackoffMs = try m.durationMilliseconds(
      "retry_backoff_ms", default: errors.retryBackoffMs)
    errors.maxRetryBackoffMs = try m.durationMilliseconds(
      "max_retry_backoff_ms", default: errors.maxRetryBackoffMs)
    if errors.maxRetryBackoffMs < errors.retryBackoffMs {
      let node = m.node("max_retry_backoff_ms") ?? m.node("retry_backoff_ms") ?? m.node
      throw node.error(
        "max_retry_backoff_ms (\(errors.maxRetryBackoffMs)ms) is less than retry_backoff_ms (\(errors.retryBackoffMs)ms)"
      )
    }
    return errors
  }

  // MARK: - Names

  /// Whether a connector (or topic) name may hold this character: `[a-zA-Z0-9._-]`.
  static func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
    switch c {
    case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
    default: false
    }
  }

  /// Why `name` is not a legal topic name under Kafka's rules, or nil.
  static func topicNameProblem(_ name: String) -> String? {
    if name.isEmpty { return "a topic name cannot be empty" }
    if name == "." || name == ".." { return "a topic name cannot be '.' or '..'" }
    if name.utf8.count > 249 { return "a topic name has at most 249 characters" }
    if let bad = name.unicodeScalars.first(where: { !isNameCharacter($0) }) {
      return "'\(bad)' is not allowed in a topic name; use letters, digits, '.', '_' and '-'"
    }
    return nil
  }
}
