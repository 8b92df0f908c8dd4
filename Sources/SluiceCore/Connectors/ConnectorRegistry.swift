import Foundation

/// A connector built from its definition, ready to make tasks.
public enum ConfiguredConnector: Sendable {
  case source(any SourceConnector)
  case sink(any SinkConnector)
}

extension ConfiguredConnector {
  /// The tasks the worker runs for it under `tasks: maxTasks`: what the connector declares,
  /// kept from 1 to `maxTasks`. Kafka Connect also lets a connector return no task config;
  /// here every connector runs at least one task, so a running connector is never one that
  /// does nothing.
  public func taskCount(maxTasks: Int) -> Int {
    let declared =
      switch self {
      case .source(let connector): connector.taskCount(maxTasks: maxTasks)
      case .sink(let connector): connector.taskCount(maxTasks: maxTasks)
      }
    return min(max(declared, 1), max(maxTasks, 1))
  }
}

/// The table of connector types the executable knows (`file`, `postgres-cdc`, …) and of the
/// Kafka Connect classes it translates (`io.debezium.connector.postgresql.PostgresConnector`, …).
///
/// `SluiceCore` knows no connector by name; the executable registers each one here as a
/// ``ConnectorPlugin``, and the worker, `sluice validate` and the admin API build connectors
/// and translate Kafka Connect configs through it. Building validates the connector's own
/// `config:` section, so an invalid file never starts.
public struct ConnectorRegistry: Sendable {
  public typealias MakeSource = ConnectorPlugin.MakeSource
  public typealias MakeSink = ConnectorPlugin.MakeSink

  /// Every registered plugin, Sluice's types and translated classes, in registration order.
  public private(set) var plugins: [ConnectorPlugin] = []

  public init() {}

  /// Makes `plugin` known; a plugin with the same class name is replaced.
  public mutating func register(_ plugin: ConnectorPlugin) {
    plugins.removeAll { $0.className == plugin.className }
    plugins.append(plugin)
  }

  /// Shorthand for ``register(_:)`` with a source type that defines no keys (tests).
  public mutating func registerSource(_ type: String, _ make: @escaping MakeSource) {
    register(.source(type, definitions: [], make))
  }

  /// Shorthand for ``register(_:)`` with a sink type that defines no keys (tests).
  public mutating func registerSink(_ type: String, _ make: @escaping MakeSink) {
    register(.sink(type, definitions: [], make))
  }

  public var sourceTypes: [String] { nativeTypes(.source) }
  public var sinkTypes: [String] { nativeTypes(.sink) }

  private func nativeTypes(_ kind: ConnectorPlugin.Kind) -> [String] {
    plugins.filter {
      guard $0.type == kind else { return false }
      if case .translated = $0.factory { return false }
      return true
    }.map(\.sluiceType).sorted()
  }

  private func native(_ kind: ConnectorPlugin.Kind, _ type: String) -> ConnectorPlugin? {
    plugins.first {
      guard $0.type == kind, $0.sluiceType == type else { return false }
      if case .translated = $0.factory { return false }
      return true
    }
  }

  /// The plugin a `connector.class` names: a class name, or an alias when only one plugin has
  /// it (Kafka's rule; `JdbcSinkConnector` alone is ambiguous).
  public func plugin(named name: String) -> ConnectorPlugin? {
    if let exact = plugins.first(where: { $0.className == name }) { return exact }
    let matching = plugins.filter { $0.matches(name) }
    return matching.count == 1 ? matching[0] : nil
  }

  /// Validates the definition's connector-specific config and builds the connector.
  public func instantiate(_ definition: ConnectorDefinition) throws -> ConfiguredConnector {
    switch definition.role {
    case .source(let type):
      guard let plugin = native(.source, type), case .source(let make) = plugin.factory else {
        throw definition.typeNode.error(Self.unknownType(type, known: sourceTypes, role: "source"))
      }
      return .source(try make(definition))
    case .sink(let type):
      guard let plugin = native(.sink, type), case .sink(let make) = plugin.factory else {
        throw definition.typeNode.error(Self.unknownType(type, known: sinkTypes, role: "sink"))
      }
      return .sink(try make(definition))
    }
  }

  private static func unknownType(_ type: String, known: [String], role: String) -> String {
    var message = "unknown \(role) type '\(type)'"
    if let guess = DidYouMean.suggestion(for: type, among: known) {
      message += "; did you mean '\(guess)'?"
    }
    return message + " (known \(role) types: \(known.joined(separator: ", ")))"
  }

  // MARK: - Kafka Connect configs

  /// The definition a Kafka Connect config stands for, translated by the plugin its
  /// `connector.class` names; no connector is built (``instantiate(_:)`` does that). Errors
  /// name the flat key they are about. `file` is where the config is (or will be) kept.
  public func definition(
    name: String, config: ConnectConfig, file: String, interpolation: Interpolation
  ) throws(ConfigError) -> ConnectorDefinition {
    let plugin = try self.plugin(for: config, file: file)
    let translation = ConnectTranslation(
      name: name, config: config, file: file, interpolation: interpolation, plugin: plugin)
    try translation.checkKeys()
    return try plugin.translate(translation)
  }

  private func plugin(for config: ConnectConfig, file: String) throws(ConfigError)
    -> ConnectorPlugin
  {
    guard var entry = config.entry("connector.class") else {
      throw ConfigError(
        file: config.entries.first.map { $0.file.isEmpty ? file : $0.file } ?? file, line: 1,
        column: 1, key: "connector.class",
        message: "Missing required configuration \"connector.class\" which has no default value.")
    }
    if let plugin = plugin(named: entry.value) { return plugin }
    if entry.file.isEmpty { (entry.file, entry.line, entry.column) = (file, 1, 1) }
    let ambiguous = plugins.filter { $0.matches(entry.value) }.map(\.className)
    if ambiguous.count > 1 {
      throw entry.error(
        "'\(entry.value)' names more than one connector class (\(ambiguous.joined(separator: ", "))); give the full class name"
      )
    }
    let names = plugins.flatMap { [$0.className] + $0.aliases }
    var message = "no connector class '\(entry.value)'"
    if let guess = DidYouMean.suggestion(for: entry.value, among: names) {
      message += "; did you mean '\(guess)'?"
    }
    throw entry.error(
      message + " (known: \(plugins.map(\.className).joined(separator: ", ")))")
  }

  /// Kafka Connect's validation of a config: every key the plugin defines with its value
  /// (secrets redacted) and its errors — unknown keys, missing required keys, values of the
  /// wrong type, then whatever the translation and the connector's own validation find, each
  /// attached to the flat key it is about.
  public func validate(config: ConnectConfig, interpolation: Interpolation) -> ConfigInfos {
    let shown = redacted(config)
    guard let plugin = try? plugin(for: config, file: "") else {
      var message = "Missing required configuration \"connector.class\" which has no default value."
      do { _ = try plugin(for: config, file: "") } catch { message = error.message }
      let definitions = ConnectCommonKeys.definitions(for: .source).filter {
        ["name", "connector.class"].contains($0.name)
      }
      return ConfigInfos(
        name: config.connectorClass ?? "", errorCount: 1, groups: [ConnectCommonKeys.group],
        configs: definitions.map { d in
          .init(
            definition: d.info,
            value: ConfigValueInfo(
              name: d.name, value: shown[d.name], recommendedValues: [],
              errors: d.name == "connector.class" ? [message] : [], visible: true))
        })
    }
    let name = config["name"] ?? ""
    let translation = ConnectTranslation(
      name: name, config: config, file: "", interpolation: interpolation, plugin: plugin)
    var errors: [String: [String]] = [:]
    func add(_ key: String, _ message: String) {
      if !(errors[key]?.contains(message) ?? false) { errors[key, default: []].append(message) }
    }
    for error in translation.unknownKeyErrors() { add(error.key, error.message) }
    for definition in plugin.definitions {
      guard let entry = config.entry(definition.name) else {
        if definition.required {
          add(
            definition.name,
            "Missing required configuration \"\(definition.name)\" which has no default value.")
        }
        continue
      }
      if let problem = Self.typeProblem(entry.value, definition, interpolation) {
        add(definition.name, problem)
      }
    }
    if errors.isEmpty {
      do {
        let definition = try plugin.translate(translation)
        do {
          _ = try instantiate(definition)
        } catch let error as ConfigError {
          add(Self.flatKey(for: error, in: config, plugin: plugin), error.message)
        } catch {
          add("connector.class", CredentialMask.masking("\(error)"))
        }
      } catch {
        add(Self.flatKey(for: error, in: config, plugin: plugin), error.message)
      }
    }

    var configs: [ConfigInfos.ConfigInfo] = []
    func info(_ key: String, _ definition: ConfigKeyInfo, recommended: [String]) {
      configs.append(
        .init(
          definition: definition,
          value: ConfigValueInfo(
            name: key, value: shown[key] ?? definition.defaultValue,
            recommendedValues: recommended, errors: errors[key] ?? [], visible: true)))
    }
    for definition in plugin.definitions {
      info(definition.name, definition.info, recommended: definition.allowedValues)
    }
    for entry in config.entries where !plugin.definitions.contains(where: { $0.name == entry.key })
    {
      if var definition = plugin.definitions.definition(for: entry.key)?.info {
        definition.name = entry.key
        info(entry.key, definition, recommended: [])
      } else if let member = plugin.definitions.first(where: { $0.name.hasPrefix(entry.key + ".") })
      {
        info(
          entry.key,
          ConfigKeyInfo(
            name: entry.key, type: "STRING", required: false, defaultValue: nil,
            importance: "LOW",
            documentation: "The \(entry.key).* keys as one JSON object ({} for their defaults).",
            group: member.group, orderInGroup: 1, width: "NONE", displayName: entry.key,
            dependents: []),
          recommended: [])
      } else {
        info(
          entry.key,
          ConfigKeyInfo(
            name: entry.key, type: "STRING", required: false, defaultValue: nil,
            importance: "LOW", documentation: "Not a key of \(plugin.className).",
            group: "Unknown", orderInGroup: 1, width: "NONE", displayName: entry.key,
            dependents: []),
          recommended: [])
      }
    }
    var groups = plugin.groups
    if configs.contains(where: { $0.definition.group == "Unknown" }) { groups.append("Unknown") }
    return ConfigInfos(
      name: plugin.className, errorCount: errors.values.reduce(0) { $0 + $1.count },
      groups: groups, configs: configs)
  }

  /// Why `value` does not fit `definition`'s type or allowed values, if it does not.
  static func typeProblem(
    _ value: String, _ definition: ConfigKeyDefinition, _ interpolation: Interpolation
  ) -> String? {
    let expanded: String
    switch interpolation.expand(value) {
    case .success(let text): expanded = text.trimmingCharacters(in: .whitespaces)
    case .failure(let failure): return failure.message
    }
    let shown = definition.isSecret ? "[hidden]" : "'\(value)'"
    switch definition.type {
    case .int, .long:
      if Int(expanded) == nil { return "Invalid value \(shown): expected an integer" }
    case .double:
      if Double(expanded) == nil { return "Invalid value \(shown): expected a number" }
    case .boolean:
      if !["true", "false"].contains(expanded.lowercased()) {
        return "Invalid value \(shown): expected true or false"
      }
    default: break
    }
    if !definition.allowedValues.isEmpty,
      !definition.allowedValues.contains(where: { $0.lowercased() == expanded.lowercased() })
    {
      return
        "Invalid value \(shown): expected one of \(definition.allowedValues.joined(separator: ", "))"
    }
    return nil
  }

  /// The flat key an error from translation or validation is about: its own key when the config
  /// has it (list items and nested paths cut back to the key), a key its message quotes, else
  /// `connector.class`.
  static func flatKey(for error: ConfigError, in config: ConnectConfig, plugin: ConnectorPlugin)
    -> String
  {
    var key = error.key
    if key.hasPrefix("config.") { key.removeFirst("config.".count) }
    if let bracket = key.firstIndex(of: "[") { key = String(key[..<bracket]) }
    if config.entry(key) != nil { return key }
    var candidate = key
    while let dot = candidate.lastIndex(of: ".") {
      candidate = String(candidate[..<dot])
      if config.entry(candidate) != nil { return candidate }
    }
    if plugin.definitions.contains(where: { $0.name == key }) { return key }
    for definition in plugin.definitions where error.message.contains("'\(definition.name)'") {
      return definition.name
    }
    return "connector.class"
  }

  // MARK: - Secrets

  /// The text shown in place of a secret.
  public static let hiddenValue = "[hidden]"

  /// `config` as it may be shown (API responses, logs): every secret — a PASSWORD key, a key
  /// its plugin marks secret, or one whose name says it is (…password, …secret, …token,
  /// …api.key, an Authorization header) — as `[hidden]`, unless its value is only
  /// `${env:…}`/`${file:…}` references, which are shown as written; URL passwords in other
  /// values as `***`.
  public func redacted(_ config: ConnectConfig) -> ConnectConfig {
    let definitions = config.connectorClass.flatMap { plugin(named: $0)?.definitions } ?? []
    var out = config
    for entry in config.entries {
      if Self.isReference(entry.value) { continue }
      if Self.isSecret(entry.key, definitions: definitions) {
        out[entry.key] = Self.hiddenValue
      } else {
        let masked = Self.maskingQueryPasswords(CredentialMask.masking(entry.value))
        if masked != entry.value { out[entry.key] = masked }
      }
    }
    return out
  }

  /// `text` with the value of every `password=` URL parameter (`jdbc:postgresql://h/d?password=x`)
  /// replaced by `***`.
  public static func maskingQueryPasswords(_ text: String) -> String {
    guard text.range(of: "password=", options: .caseInsensitive) != nil else { return text }
    var out = ""
    var rest = Substring(text)
    while let found = rest.range(of: "password=", options: .caseInsensitive) {
      let starts =
        found.lowerBound == rest.startIndex
        || "?&;".contains(rest[rest.index(before: found.lowerBound)])
      out += rest[..<found.upperBound]
      rest = rest[found.upperBound...]
      guard starts else { continue }
      let end = rest.firstIndex(where: { "&;# \t\r\n\"'".contains($0) }) ?? rest.endIndex
      if end != rest.startIndex { out += "***" }
      rest = rest[end...]
    }
    return out + rest
  }

  /// Whether `key` holds a secret, by its definition or its name.
  public static func isSecret(_ key: String, definitions: [ConfigKeyDefinition]) -> Bool {
    if definitions.definition(for: key)?.isSecret == true { return true }
    let lowered = key.lowercased()
    // Separators do not matter: `api.key`, `api_key`, `X-Api-Key` all end in "apikey".
    let letters = String(lowered.filter { $0.isLetter || $0.isNumber })
    if [
      "password", "secret", "token", "passphrase", "apikey", "credentials", "authorization",
      "cookie", "signature",
    ].contains(where: { letters.hasSuffix($0) }) {
      return true
    }
    // A header sent with each request whose name says it carries a credential.
    return lowered.contains("header")
      && ["auth", "key", "token", "secret", "signature", "session", "cookie", "credential"]
        .contains { lowered.contains($0) }
  }

  /// Whether `value` is nothing but `${env:…}`/`${file:…}` references (and blanks).
  public static func isReference(_ value: String) -> Bool {
    var rest = Substring(value.trimmingCharacters(in: .whitespaces))
    guard !rest.isEmpty else { return false }
    while !rest.isEmpty {
      guard rest.hasPrefix("${env:") || rest.hasPrefix("${file:"),
        let close = rest.firstIndex(of: "}")
      else { return false }
      rest = rest[rest.index(after: close)...].drop(while: { $0 == " " })
    }
    return true
  }
}
