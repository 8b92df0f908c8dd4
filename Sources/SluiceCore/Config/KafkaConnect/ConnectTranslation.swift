import Foundation

/// One flat config being turned into a ``ConnectorDefinition``: typed, located access to its
/// values (expanded with the worker's ``Interpolation``; errors show what was written) and the
/// frame every connector shares (name, topics, tasks, error handling, converters).
///
/// The nodes it gives carry the flat key as their path and the entry's file, line and column,
/// so an error raised later by the connector's own validation still names the key the user
/// wrote (`database.hostname`, not `config.url`).
public struct ConnectTranslation: Sendable {
  public let name: String
  public let config: ConnectConfig
  public let file: String
  public let interpolation: Interpolation
  public let plugin: ConnectorPlugin

  public init(
    name: String, config: ConnectConfig, file: String, interpolation: Interpolation,
    plugin: ConnectorPlugin
  ) {
    self.name = name
    self.config = config
    self.file = file
    self.interpolation = interpolation
    self.plugin = plugin
  }

  // MARK: - Values

  public func has(_ key: String) -> Bool { config.entry(key) != nil }

  /// The value as written (`${env:X}` unexpanded).
  public func written(_ key: String) -> String? { config[key] }

  /// An error at `key`'s entry, or at `connector.class` when the key was not given.
  public func error(_ key: String, _ message: String) -> ConfigError {
    if let entry = config.entry(key) {
      // An entry that came from no file (the REST API) is reported against `file`.
      if entry.file.isEmpty {
        return ConfigError(file: file, line: 1, column: 1, key: key, message: message)
      }
      return entry.error(message)
    }
    let anchor = config.entry("connector.class") ?? config.entries.first
    return ConfigError(
      file: anchor?.file.isEmpty == false ? anchor!.file : file, line: anchor?.line ?? 1,
      column: anchor?.column ?? 1, key: key, message: message)
  }

  /// The expanded value of `key` as a located scalar node whose path is `key`; nil when absent.
  public func node(_ key: String) throws(ConfigError) -> ConfigNode? {
    guard let entry = config.entry(key) else { return nil }
    return try scalar(entry.value, at: key)
  }

  public func required(_ key: String) throws(ConfigError) -> ConfigNode {
    guard let node = try node(key) else {
      throw error(key, "Missing required configuration \"\(key)\" which has no default value.")
    }
    return node
  }

  /// The expanded value of `key`, nil when absent.
  public func string(_ key: String) throws(ConfigError) -> String? {
    try node(key).map { node throws(ConfigError) in try node.string() }
  }

  /// `true`/`false` (any case), as Kafka's BOOLEAN.
  public func bool(_ key: String) throws(ConfigError) -> Bool? {
    guard let node = try node(key) else { return nil }
    switch try node.string().trimmingCharacters(in: .whitespaces).lowercased() {
    case "true": return true
    case "false": return false
    default: throw node.error("expected true or false, got \(node.kindDescription)")
    }
  }

  public func int(_ key: String, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int? {
    guard let node = try node(key) else { return nil }
    guard let value = Int(try node.string().trimmingCharacters(in: .whitespaces)),
      range?.contains(value) ?? true
    else {
      let bounds = range.map { " from \($0.lowerBound) to \($0.upperBound)" } ?? ""
      throw node.error("expected an integer\(bounds), got \(node.kindDescription)")
    }
    return value
  }

  /// One of `allowed` (compared without case, as Kafka's validators do), lower-cased.
  public func oneOf(_ key: String, _ allowed: [String]) throws(ConfigError) -> String? {
    guard let node = try node(key) else { return nil }
    let text = try node.string().trimmingCharacters(in: .whitespaces)
    guard let match = allowed.first(where: { $0.lowercased() == text.lowercased() }) else {
      var message =
        "expected one of \(allowed.joined(separator: ", ")), got \(node.kindDescription)"
      if let guess = DidYouMean.suggestion(for: text, among: allowed) {
        message += "; did you mean '\(guess)'?"
      }
      throw node.error(message)
    }
    return match
  }

  /// A comma-separated list (Kafka's LIST), items trimmed, empty items dropped.
  public func list(_ key: String) throws(ConfigError) -> [String]? {
    try string(key).map { text in
      text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    }
  }

  /// `text` (as written) expanded and located at `key`'s entry (or at `connector.class`), with
  /// `path` as its key path. Errors about it show the written text, never the expansion.
  public func scalar(_ text: String, at key: String, path: String? = nil) throws(ConfigError)
    -> ConfigNode
  {
    var node = located(.scalar(text), at: key, path: path)
    switch interpolation.expand(text) {
    case .success(let value):
      node.content = .scalar(value)
      if value != text { node.writtenText = text }
      return node
    case .failure(let failure):
      throw error(key, failure.message)
    }
  }

  /// A node of any content located at `key`'s entry.
  public func located(_ content: ConfigNode.Content, at key: String, path: String? = nil)
    -> ConfigNode
  {
    let at = error(key, "")
    return ConfigNode(
      file: at.file, path: path ?? key, line: at.line, column: at.column, content: content)
  }

  /// A scalar composed from several values (a URL from host, port and database): `expanded`
  /// is what the connector gets, `written` what errors show when the two differ.
  public func composed(expanded: String, written: String, at key: String) -> ConfigNode {
    var node = located(.scalar(expanded), at: key)
    if expanded != written { node.writtenText = written }
    return node
  }

  /// A mapping entry of the `config:` section being built.
  public func entry(_ key: String, _ value: ConfigNode) -> ConfigNode.Entry {
    ConfigNode.Entry(key: key, line: value.line, column: value.column, value: value)
  }

  /// Errors for keys whose behaviour Sluice does not have: any of `keys` that is given, unless
  /// its value is one of `accepted` (compared without case), fails with the reason.
  public func rejectUnbuilt(_ keys: [(key: String, accepted: [String], why: String)])
    throws(ConfigError)
  {
    for (key, accepted, why) in keys {
      guard let node = try node(key) else { continue }
      let value = try node.string().trimmingCharacters(in: .whitespaces).lowercased()
      if !accepted.contains(where: { $0.lowercased() == value }) {
        throw node.error(
          "\(node.kindDescription) is not built in Sluice: \(why)"
            + (accepted.isEmpty ? "" : " (accepted: \(accepted.joined(separator: ", ")))"))
      }
    }
  }

  /// `text` with Kafka Connect's `${topic}`-style placeholders replaced by Sluice's `{topic}`
  /// (before `${env:}` expansion, which would otherwise refuse them).
  public static func placeholders(_ text: String, _ names: [String]) -> String {
    var out = text
    for name in names { out = out.replacingOccurrences(of: "${\(name)}", with: "{\(name)}") }
    return out
  }

  /// `text` percent-escaped for the user or database part of a URL.
  public static func percentEscaped(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
      let c = Character(Unicode.Scalar(byte))
      if c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) {
        out.append(c)
      } else {
        out += String(format: "%%%02X", byte)
      }
    }
    return out
  }

  // MARK: - The frame

  /// Checks that every key is one the plugin defines (or a common one); an unknown key is an
  /// error naming it, with a did-you-mean.
  public func checkKeys() throws(ConfigError) {
    if let error = unknownKeyErrors().first { throw error }
  }

  /// One error per key the plugin does not define.
  public func unknownKeyErrors() -> [ConfigError] {
    let names = plugin.definitions.map(\.name)
    var errors: [ConfigError] = []
    for entry in config.entries where !plugin.definitions.knows(entry.key) {
      // A transform's or predicate's own keys are checked when the chain is built.
      if let problem = transformKeyProblem(entry.key) {
        errors.append(error(entry.key, problem))
        continue
      } else if entry.key.hasPrefix("transforms.") || entry.key.hasPrefix("predicates.") {
        continue
      }
      var message = "unknown key '\(entry.key)' for \(plugin.className)"
      if let guess = DidYouMean.suggestion(for: entry.key, among: names) {
        message += "; did you mean '\(guess)'?"
      }
      errors.append(error(entry.key, message))
    }
    return errors
  }

  /// Why `transforms.<alias>.…` or `predicates.<alias>.…` names no declared alias, if it does not.
  func transformKeyProblem(_ key: String) -> String? {
    for list in ["transforms", "predicates"] where key.hasPrefix(list + ".") {
      let aliases = aliases(list)
      let rest = key.dropFirst(list.count + 1)
      if !aliases.contains(where: { rest.hasPrefix($0 + ".") }) {
        return "'\(key)' names no alias of '\(list)' (\(aliases.isEmpty ? "none is declared" : aliases.joined(separator: ", ")))"
      }
    }
    return nil
  }

  private func aliases(_ list: String) -> [String] {
    (config[list] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
  }

  /// Kafka Connect's `transforms=a,b` with `transforms.a.type=…` and its options, and
  /// `predicates=…` likewise, as the `transforms:` list and `predicates:` mapping of a connector
  /// file (``TransformChainConfig``), each value where it was written.
  func transformNodes() -> (transforms: ConfigNode?, predicates: ConfigNode?) {
    func declaration(_ list: String, _ alias: String, named: Bool) -> ConfigNode {
      let prefix = "\(list).\(alias)."
      var members: [ConfigNode.Entry] = []
      if named { members.append(entry("name", located(.scalar(alias), at: list))) }
      for e in config.entries where e.key.hasPrefix(prefix) {
        members.append(entry(String(e.key.dropFirst(prefix.count)), located(.scalar(e.value), at: e.key)))
      }
      return located(.mapping(members), at: list, path: "\(list).\(alias)")
    }
    let transforms = aliases("transforms")
    let predicates = aliases("predicates")
    return (
      transforms.isEmpty
        ? nil
        : located(
          .sequence(transforms.map { declaration("transforms", $0, named: true) }), at: "transforms"),
      predicates.isEmpty
        ? nil
        : located(
          .mapping(predicates.map { entry($0, declaration("predicates", $0, named: false)) }),
          at: "predicates")
    )
  }

  /// The definition of a Sluice `type` with this config's common keys and the type's own
  /// `config:` entries. Reads `name`, `tasks.max`, `topic`/`topics`, `errors.*`, and checks
  /// the converter and transform keys.
  /// `vendorKeys` names a class's own key for a common one (`errors.retries` ← `max.retries`),
  /// read when the common key is not given; giving both is an error.
  public func definition(
    type: String, topic: ConfigNode? = nil, config entries: [ConfigNode.Entry],
    vendorKeys: [String: String] = [:]
  ) throws(ConfigError) -> ConnectorDefinition {
    if let given = config.entry("name"), given.value != name {
      throw error(
        "name",
        "the config's name '\(given.value)' differs from the connector's name '\(name)'")
    }
    try checkConverters()
    for entry in config.entries {
      if let problem = transformKeyProblem(entry.key) { throw error(entry.key, problem) }
    }
    if has("errors.retry.timeout") {
      throw error(
        "errors.retry.timeout",
        "Sluice retries a failing record a number of times, not for a time: use errors.retries")
    }

    var frame: [ConfigNode.Entry] = []
    let nameNode = located(.scalar(name), at: "name")
    frame.append(entry("name", nameNode))
    let typeNode = located(.scalar(type), at: "connector.class")
    switch plugin.type {
    case .source:
      frame.append(entry("source", typeNode))
      if let topic { frame.append(entry("topic", topic)) }
    case .sink:
      frame.append(entry("sink", typeNode))
      if has("topics.regex") {
        throw error(
          "topics.regex",
          "a sink reading the topics a regular expression matches is not built in Sluice; list them in 'topics'"
        )
      }
      if let topics = try node("topics") {
        let names = try topics.string().split(separator: ",").map {
          $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        frame.append(
          entry(
            "topics",
            located(
              .sequence(names.map { located(.scalar($0), at: "topics") }), at: "topics")))
      }
    }
    if let tasks = try node("tasks.max") { frame.append(entry("tasks", tasks)) }
    var errors: [ConfigNode.Entry] = []
    for (flat, native) in [
      ("errors.tolerance", "tolerance"), ("errors.deadletterqueue.topic.name", "dlq_topic"),
      ("errors.retries", "retries"), ("errors.retry.backoff.ms", "retry_backoff_ms"),
      ("errors.retry.delay.max.ms", "max_retry_backoff_ms"),
    ] {
      if let vendor = vendorKeys[flat], has(vendor), has(flat) {
        throw error(vendor, "give either \(vendor) or \(flat), not both")
      }
      var given = try node(flat)
      if given == nil, let vendor = vendorKeys[flat] { given = try node(vendor) }
      guard var value = given else { continue }
      // Kafka spells the tolerance in any case; an empty DLQ topic means "none given".
      if flat == "errors.tolerance" { value.content = .scalar(try value.string().lowercased()) }
      if flat == "errors.deadletterqueue.topic.name", try value.string().isEmpty { continue }
      errors.append(entry(native, value))
    }
    if !errors.isEmpty {
      frame.append(
        entry("errors", located(.mapping(errors), at: "errors.tolerance", path: "errors")))
    }
    let (transforms, predicates) = transformNodes()
    if let transforms { frame.append(entry("transforms", transforms)) }
    if let predicates { frame.append(entry("predicates", predicates)) }
    frame.append(entry("config", located(.mapping(entries), at: "connector.class", path: "config")))
    let root = located(.mapping(frame), at: "connector.class", path: "")
    var definition = try ConnectorDefinition(
      root: root, file: file, fingerprint: self.config.yamlText(name: name))
    definition.connectConfig = self.config
    return definition
  }

  /// `key.converter` and `value.converter` must name a converter whose output is what the
  /// connector reads or writes; `*.schemas.enable=true` only where it reads the wrapper.
  func checkConverters() throws(ConfigError) {
    for side in ["key", "value"] {
      let key = "\(side).converter"
      if let converter = try string(key)?.trimmingCharacters(in: .whitespaces),
        !plugin.converters.contains(converter)
      {
        throw error(
          key,
          "\(plugin.className) in Sluice works with \(plugin.converters.sorted().joined(separator: " or ")); "
            + "'\(converter)' is not built")
      }
      if try bool("\(key).schemas.enable") == true {
        if !plugin.readsSchemaEnvelopes {
          throw error(
            "\(key).schemas.enable",
            "Sluice writes and reads JSON without the converter's schema; schemas.enable=true is not built for \(plugin.className)"
          )
        }
        if try string(key) == nil {
          throw error(
            "\(key).schemas.enable", "set \(key) to \(ConnectCommonKeys.jsonConverter) too")
        }
      }
    }
  }
}
