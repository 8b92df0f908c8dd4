/// A transform's or predicate's options as written — strings under Kafka Connect's and
/// Debezium's names — each where it was written, so an error points at its file and line.
public struct TransformOptions: Sendable {
  /// The alias the chain knows it by (`transforms=<alias>`, or `name:` in a connector file).
  public var alias: String
  /// The part a `$Key`/`$Value` transform works on (from the type's suffix; value by default).
  public var side: RecordSide
  public var entries: ConnectConfig
  /// Where the transform was declared, for errors about a key that is missing.
  public var declared: ConnectConfig.Entry
  /// What errors name an option by: `transforms.<alias>` in Kafka Connect's form, the list
  /// item's path in a connector file.
  public var path: String

  public init(
    alias: String, side: RecordSide = .value, entries: ConnectConfig,
    declared: ConnectConfig.Entry, path: String = ""
  ) {
    self.alias = alias
    self.side = side
    self.entries = entries
    self.declared = declared
    self.path = path
  }

  /// An error located at `entry` (or at the declaration), naming `key` by its full path.
  private func located(_ entry: ConnectConfig.Entry?, _ key: String, _ message: String)
    -> ConfigError
  {
    let at = entry ?? declared
    return ConfigError(
      file: at.file, line: at.line, column: at.column, key: path.isEmpty ? key : "\(path).\(key)",
      message: message)
  }

  public func string(_ key: String) -> String? { entries[key] }

  public func string(_ key: String, default value: String) -> String { entries[key] ?? value }

  public func required(_ key: String) throws(ConfigError) -> String {
    guard let value = entries[key], !value.isEmpty else {
      throw located(nil, key, "transform '\(alias)' needs '\(key)'")
    }
    return value
  }

  public func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
    guard let text = entries[key] else { return value }
    switch text.lowercased() {
    case "true": return true
    case "false": return false
    default: throw error(key, "expected true or false, got '\(text)'")
    }
  }

  public func int(_ key: String, default value: Int) throws(ConfigError) -> Int {
    guard let text = entries[key] else { return value }
    guard let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
      throw error(key, "expected an integer, got '\(text)'")
    }
    return n
  }

  /// A comma-separated list (Kafka's LIST type): items trimmed, empty ones dropped.
  public func list(_ key: String) -> [String] {
    (entries[key] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
  }

  public func oneOf(_ key: String, _ allowed: [String], default value: String) throws(ConfigError)
    -> String
  {
    guard let text = entries[key] else { return value }
    guard allowed.contains(text) else {
      var message = "expected one of \(allowed.joined(separator: ", ")), got '\(text)'"
      if let guess = DidYouMean.suggestion(for: text, among: allowed) {
        message += "; did you mean '\(guess)'?"
      }
      throw error(key, message)
    }
    return text
  }

  /// An error at `key`'s value (or at the declaration when it is not written).
  public func error(_ key: String, _ message: String) -> ConfigError {
    located(entries.entry(key), key, message)
  }

  /// Refuses keys the transform does not take, naming the closest one it does.
  public func checkKnown(_ known: [String]) throws(ConfigError) {
    for entry in entries.entries where !known.contains(entry.key) {
      var message = "transform '\(alias)' has no option '\(entry.key)'"
      if let guess = DidYouMean.suggestion(for: entry.key, among: known) {
        message += "; did you mean '\(guess)'?"
      } else if !known.isEmpty {
        message += " (it takes \(known.joined(separator: ", ")))"
      }
      throw located(entry, entry.key, message)
    }
  }
}
