/// Sluice's own connector files in Kafka Connect's flat form, both ways.
///
/// A file `name: x`, `source: postgres-cdc`, `topic: …`, `config: {url: …, tables: [a, b]}`
/// flattens to `connector.class=sluice.source.postgres-cdc`, `name`, `topic`, `tasks.max`,
/// `errors.*`, and the `config:` keys as dotted paths (`batch.max_records`,
/// `headers.X-Source`), lists as JSON text (`tables=["a","b"]`). Translating that map with the
/// type's ``ConfigKeyDefinition``s rebuilds the nested `config:`, so the round trip gives an
/// equal definition.
public enum NativeConnectForm {
  // MARK: - Flattening

  /// The flat form of a Sluice file, from its tree as written (``ConfigNode/parseAsWritten``)
  /// and the definition parsed from it.
  static func flatten(_ written: ConfigNode, definition: ConnectorDefinition) -> ConnectConfig {
    var config = ConnectConfig()
    let (kind, type): (ConnectorPlugin.Kind, String) =
      switch definition.role {
      case .source(let type): (.source, type)
      case .sink(let type): (.sink, type)
      }
    config["connector.class"] = ConnectorPlugin.nativeClassName(kind: kind, type: type)
    config["name"] = definition.name
    guard case .mapping(let top) = written.content else { return config }
    func value(_ key: String) -> ConfigNode? { top.first { $0.key == key }?.value }
    if let topic = value("topic"), case .scalar(let text) = topic.content {
      config["topic"] = text
    }
    if let topics = value("topics") {
      switch topics.content {
      case .scalar(let text): config["topics"] = text
      case .sequence(let items):
        config["topics"] = items.compactMap {
          if case .scalar(let text) = $0.content { text } else { nil }
        }.joined(separator: ",")
      default: break
      }
    }
    if let tasks = value("tasks"), case .scalar(let text) = tasks.content {
      config["tasks.max"] = text
    }
    if let errors = value("errors"), case .mapping(let entries) = errors.content {
      for entry in entries {
        guard case .scalar(let text) = entry.value.content,
          let flat = errorKeys.first(where: { $0.native == entry.key })?.flat
        else { continue }
        config[flat] = text
      }
    }
    if let section = value("config") { flatten(section, path: "", into: &config) }
    return config
  }

  /// Sluice's `errors:` keys and their flat names.
  static let errorKeys: [(native: String, flat: String)] = [
    ("tolerance", "errors.tolerance"), ("dlq_topic", "errors.deadletterqueue.topic.name"),
    ("retries", "errors.retries"), ("retry_backoff_ms", "errors.retry.backoff.ms"),
    ("max_retry_backoff_ms", "errors.retry.delay.max.ms"),
  ]

  private static func flatten(_ node: ConfigNode, path: String, into config: inout ConnectConfig) {
    switch node.content {
    case .null: return
    case .scalar(let text): config[path] = text
    case .sequence: config[path] = json(node)
    case .mapping(let entries):
      if entries.isEmpty, !path.isEmpty {
        config[path] = "{}"
        return
      }
      for entry in entries {
        flatten(entry.value, path: path.isEmpty ? entry.key : "\(path).\(entry.key)", into: &config)
      }
    }
  }

  /// A node as JSON text, every scalar a string.
  static func json(_ node: ConfigNode) -> String {
    switch node.content {
    case .null: return "null"
    case .scalar(let text): return jsonString(text)
    case .sequence(let items): return "[" + items.map(json).joined(separator: ",") + "]"
    case .mapping(let entries):
      return "{" + entries.map { jsonString($0.key) + ":" + json($0.value) }.joined(separator: ",")
        + "}"
    }
  }

  /// `text` as a JSON string literal.
  static func jsonString(_ text: String) -> String { JSONWriter.quoted(text) }

  // MARK: - Translating back

  /// The definition of a flat config whose class is one of Sluice's own types: the connector's
  /// keys are put back into the nested `config:` its ``ConfigKeyDefinition``s describe.
  static func translate(_ t: ConnectTranslation) throws(ConfigError) -> ConnectorDefinition {
    let common = Set(ConnectCommonKeys.definitions(for: t.plugin.type).map(\.name))
    let definitions = t.plugin.connectorDefinitions
    var root = Tree()
    for entry in t.config.entries where !common.contains(entry.key) {
      let key = entry.key
      // A transform's or predicate's own keys go to the chain (``ConnectTranslation/definition``).
      if key.hasPrefix("transforms.") || key.hasPrefix("predicates.") { continue }
      let node: ConfigNode
      var path: [String]
      if let definition = definitions.definition(for: key) {
        path = definition.name.split(separator: ".").map(String.init)
        if key != definition.name {
          // An entry of a free-form mapping: `headers.X-Source`.
          path.append(String(key.dropFirst(definition.name.count + 1)))
          node = try t.scalar(entry.value, at: key)
        } else if definition.shape == .mapping {
          guard isJSONObject(entry.value) else {
            throw t.error(
              key,
              "expected one key per entry (\(key).NAME) or a JSON object, got '\(entry.value)'")
          }
          node = try parsedJSON(entry.value, key: key, t)
        } else if definition.shape == .list {
          node = try list(entry.value, key: key, t)
        } else {
          node = try t.scalar(entry.value, at: key)
        }
      } else if definitions.contains(where: { $0.name.hasPrefix(key + ".") }),
        isJSONObject(entry.value)
      {
        // A whole group as JSON: `batch={"max_records":"100"}`, or `{}` for its defaults.
        path = key.split(separator: ".").map(String.init)
        node = try parsedJSON(entry.value, key: key, t)
      } else {
        var message = "unknown key '\(key)' for \(t.plugin.className)"
        if let guess = DidYouMean.suggestion(for: key, among: t.plugin.definitions.map(\.name)) {
          message += "; did you mean '\(guess)'?"
        }
        throw t.error(key, message)
      }
      try root.insert(node, at: path, key: key, t)
    }
    return try t.definition(
      type: t.plugin.sluiceType, topic: try t.node("topic"), config: root.entries(t))
  }

  private static func isJSONObject(_ text: String) -> Bool {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    return trimmed.hasPrefix("{") && trimmed.hasSuffix("}")
  }

  /// A LIST value: JSON array text, a comma-separated list, or one value.
  private static func list(_ text: String, key: String, _ t: ConnectTranslation) throws(ConfigError)
    -> ConfigNode
  {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if trimmed.hasPrefix("[") { return try parsedJSON(text, key: key, t) }
    if trimmed.contains(",") {
      var items: [ConfigNode] = []
      for (i, item) in trimmed.split(separator: ",").enumerated() {
        items.append(
          try t.scalar(item.trimmingCharacters(in: .whitespaces), at: key, path: "\(key)[\(i)]"))
      }
      return t.located(.sequence(items), at: key)
    }
    return try t.scalar(text, at: key)
  }

  /// JSON text parsed into nodes located at the entry, every scalar expanded.
  private static func parsedJSON(_ text: String, key: String, _ t: ConnectTranslation)
    throws(ConfigError) -> ConfigNode
  {
    let parsed: ConfigNode
    do {
      parsed = try ConfigNode.parseAsWritten(text: text, file: t.file)
    } catch {
      throw t.error(key, "expected JSON text (\(error.message))")
    }
    return try relocated(parsed, key: key, path: key, t)
  }

  private static func relocated(
    _ node: ConfigNode, key: String, path: String, _ t: ConnectTranslation
  )
    throws(ConfigError) -> ConfigNode
  {
    switch node.content {
    case .null: return t.located(.null, at: key, path: path)
    case .scalar(let text): return try t.scalar(text, at: key, path: path)
    case .sequence(let items):
      var out: [ConfigNode] = []
      for (i, item) in items.enumerated() {
        out.append(try relocated(item, key: key, path: "\(path)[\(i)]", t))
      }
      return t.located(.sequence(out), at: key, path: path)
    case .mapping(let entries):
      var out: [ConfigNode.Entry] = []
      for entry in entries {
        let value = try relocated(entry.value, key: key, path: "\(path).\(entry.key)", t)
        out.append(t.entry(entry.key, value))
      }
      return t.located(.mapping(out), at: key, path: path)
    }
  }

  /// The nested `config:` being rebuilt, keys in the order first given.
  private struct Tree {
    var order: [String] = []
    var leaves: [String: ConfigNode] = [:]
    var children: [String: Tree] = [:]
    var firstKey: [String: String] = [:]

    mutating func insert(
      _ node: ConfigNode, at path: [String], key: String, _ t: ConnectTranslation
    )
      throws(ConfigError)
    {
      let head = path[0]
      if !order.contains(head) {
        order.append(head)
        firstKey[head] = key
      }
      if path.count == 1 {
        if leaves[head] != nil || children[head] != nil {
          throw t.error(key, "'\(key)' is given twice (also as '\(firstKey[head] ?? head)')")
        }
        leaves[head] = node
        return
      }
      if let leaf = leaves[head] {
        // A group given as JSON and as dotted keys: the dotted keys add to it.
        guard case .mapping(let entries) = leaf.content else {
          throw t.error(key, "'\(key)' conflicts with '\(firstKey[head] ?? head)'")
        }
        var tree = Tree()
        for entry in entries {
          try tree.insert(entry.value, at: [entry.key], key: firstKey[head] ?? head, t)
        }
        leaves[head] = nil
        children[head] = tree
      }
      try children[head, default: Tree()].insert(node, at: Array(path.dropFirst()), key: key, t)
    }

    func entries(_ t: ConnectTranslation) -> [ConfigNode.Entry] {
      order.map { name in
        if let leaf = leaves[name] { return t.entry(name, leaf) }
        let child = children[name]!
        let key = firstKey[name] ?? name
        return t.entry(name, t.located(.mapping(child.entries(t)), at: key, path: key))
      }
    }
  }
}
