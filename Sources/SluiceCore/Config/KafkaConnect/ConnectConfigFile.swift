/// A connector config file in Kafka Connect's form, read into a located ``ConnectConfig``:
///
/// - JSON as the REST API takes it, `{"name": "x", "config": {"connector.class": "…", …}}`, or
///   flat, `{"name": "x", "connector.class": "…", …}`;
/// - YAML with `name: x` and a `config:` mapping of scalars that holds `connector.class` (the form
///   ``ConnectConfig/yamlText(name:)`` writes);
/// - a `.properties` file as Kafka's `connect-standalone` reads it (`key=value`, `#`/`!`
///   comments, `\` line continuations, `name=x`).
///
/// JSON numbers and booleans become their text; values stay as written (no `${env:}` expansion).
public struct ConnectConfigFile: Sendable {
  /// The connector's name: the top-level `name`, else the config's `name` entry.
  public var name: String?
  /// Where the name was written.
  public var nameEntry: ConnectConfig.Entry?
  /// Every entry of the config, in file order (the `name` entry only where it was inside it).
  public var config: ConnectConfig
  /// `POST /connectors`' `initial_state` (KIP-980: RUNNING, PAUSED or STOPPED), when given.
  public var initialState: String? = nil

  public init(
    name: String?, nameEntry: ConnectConfig.Entry?, config: ConnectConfig,
    initialState: String? = nil
  ) {
    self.name = name
    self.nameEntry = nameEntry
    self.config = config
    self.initialState = initialState
  }

  /// Reads `text` by the file's extension: `.properties` as properties, anything else as
  /// JSON or YAML.
  public static func parse(text: String, file: String) throws(ConfigError) -> ConnectConfigFile {
    if file.hasSuffix(".properties") { return try parseProperties(text: text, file: file) }
    return try parse(root: try ConfigNode.parseAsWritten(text: text, file: file))
  }

  /// Whether a parsed JSON or YAML file is in Kafka Connect's form (a `connector.class` at the
  /// top or directly under `config:`) rather than Sluice's own.
  public static func isConnectForm(_ root: ConfigNode) -> Bool {
    guard case .mapping(let entries) = root.content else { return false }
    if entries.contains(where: { $0.key == "connector.class" }) { return true }
    guard let config = entries.first(where: { $0.key == "config" })?.value,
      case .mapping(let inner) = config.content
    else { return false }
    return inner.contains { $0.key == "connector.class" }
  }

  /// The Connect form from a JSON or YAML document parsed as written — a file, or the body of
  /// `POST /connectors` or `PUT /connectors/{name}/config` (the latter is a flat config), read
  /// with ``ConfigNode/parseAsWritten(text:file:)`` so the keys keep their order
  /// (``ConfigNode/parseAsWritten(text:file:)``).
  public static func parse(root: ConfigNode) throws(ConfigError) -> ConnectConfigFile {
    guard case .mapping(let top) = root.content else {
      throw root.error("expected a mapping with 'name' and 'config', got \(root.kindDescription)")
    }
    let nested = top.contains { $0.key == "config" }
    var result = ConnectConfigFile(name: nil, nameEntry: nil, config: ConnectConfig())
    var configEntries: [ConfigNode.Entry]
    if nested {
      let known = ["name", "config", "initial_state"]
      for entry in top where !known.contains(entry.key) {
        var message = "unknown key '\(entry.key)'"
        if let guess = DidYouMean.suggestion(for: entry.key, among: known) {
          message += "; did you mean '\(guess)'?"
        } else {
          message += "; a Kafka Connect config file has 'name' and 'config'"
        }
        throw ConfigError(
          file: root.file, line: entry.line, column: entry.column, key: entry.key,
          message: message)
      }
      if let nameEntry = top.first(where: { $0.key == "name" }) {
        let value = try scalarText(nameEntry)
        result.name = value
        result.nameEntry = ConnectConfig.Entry(
          key: "name", value: value, file: root.file, line: nameEntry.line,
          column: nameEntry.column)
      }
      if let state = top.first(where: { $0.key == "initial_state" }) {
        result.initialState = try scalarText(state)
      }
      let config = top.first { $0.key == "config" }!.value
      guard case .mapping(let inner) = config.content else {
        throw config.error(
          "expected a mapping of configuration keys to values, got \(config.kindDescription)")
      }
      configEntries = inner
    } else {
      configEntries = top
    }
    var entries: [ConnectConfig.Entry] = []
    for entry in configEntries {
      if entry.value.isNull { continue }
      let value = try scalarText(entry)
      let located = ConnectConfig.Entry(
        key: entry.key, value: value, file: root.file, line: entry.line, column: entry.column)
      if entry.key == "name" {
        if let outer = result.name, outer != value {
          throw located.error(
            "the config's name '\(value)' differs from the connector's name '\(outer)'")
        }
        if result.name == nil {
          result.name = value
          result.nameEntry = located
        }
      }
      entries.append(located)
    }
    result.config = ConnectConfig(entries: entries)
    return result
  }

  private static func scalarText(_ entry: ConfigNode.Entry) throws(ConfigError) -> String {
    guard case .scalar(let text) = entry.value.content else {
      throw ConfigError(
        file: entry.value.file, line: entry.line, column: entry.column, key: entry.key,
        message:
          "a Kafka Connect config value is a string (lists are comma-separated), got \(entry.value.kindDescription)"
      )
    }
    return text
  }

  // MARK: - Properties

  /// Reads Java's `.properties` format: `key=value`, `key: value` or `key value`; `#` and `!`
  /// comment lines; a line ending in an odd number of backslashes continues on the next
  /// (leading blanks of that line dropped); escapes `\t \n \r \f \uXXXX`, and `\x` for any
  /// other `x`. A key given twice is an error (Java would keep the last silently).
  public static func parseProperties(text: String, file: String) throws(ConfigError)
    -> ConnectConfigFile
  {
    if text.utf8.count > ConfigNode.maximumFileBytes {
      throw ConfigError(
        file: file, line: 1, column: 1, key: "",
        message:
          "file is larger than \(ConfigNode.maximumFileBytes >> 20)MiB; a config file is far smaller"
      )
    }
    var entries: [ConnectConfig.Entry] = []
    let lines = text.split(
      omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
    )
    .map { Array(String($0).unicodeScalars) }
    var index = 0
    while index < lines.count {
      let startLine = index + 1
      var line = lines[index]
      index += 1
      let firstNonBlank = line.firstIndex { !isBlank($0) }
      guard let firstNonBlank, line[firstNonBlank] != "#", line[firstNonBlank] != "!" else {
        continue
      }
      let column = firstNonBlank + 1
      var logical = Array(line[firstNonBlank...])
      while endsWithContinuation(logical), index < lines.count {
        logical.removeLast()
        line = lines[index]
        index += 1
        logical += line.drop(while: isBlank)
      }
      if endsWithContinuation(logical) { logical.removeLast() }
      // The key ends at the first unescaped '=', ':' or blank.
      var position = 0
      var rawKey: [Unicode.Scalar] = []
      while position < logical.count {
        let c = logical[position]
        if c == "\\", position + 1 < logical.count {
          rawKey += [c, logical[position + 1]]
          position += 2
          continue
        }
        if c == "=" || c == ":" || isBlank(c) { break }
        rawKey.append(c)
        position += 1
      }
      while position < logical.count, isBlank(logical[position]) { position += 1 }
      if position < logical.count, logical[position] == "=" || logical[position] == ":" {
        position += 1
        while position < logical.count, isBlank(logical[position]) { position += 1 }
      }
      let key = try unescape(rawKey, file: file, line: startLine, column: column)
      let value = try unescape(
        Array(logical[position...]), file: file, line: startLine, column: column)
      let entry = ConnectConfig.Entry(
        key: key, value: value, file: file, line: startLine, column: column)
      if let first = entries.first(where: { $0.key == key }) {
        throw entry.error("duplicate key '\(key)' (first given at line \(first.line))")
      }
      entries.append(entry)
    }
    let nameEntry = entries.first { $0.key == "name" }
    return ConnectConfigFile(
      name: nameEntry?.value, nameEntry: nameEntry, config: ConnectConfig(entries: entries))
  }

  private static func isBlank(_ c: Unicode.Scalar) -> Bool {
    c == " " || c == "\t" || c == "\u{0C}"
  }

  private static func endsWithContinuation(_ line: [Unicode.Scalar]) -> Bool {
    var count = 0
    for c in line.reversed() {
      guard c == "\\" else { break }
      count += 1
    }
    return count % 2 == 1
  }

  private static func unescape(
    _ text: [Unicode.Scalar], file: String, line: Int, column: Int
  ) throws(ConfigError) -> String {
    var out = String.UnicodeScalarView()
    var position = 0
    while position < text.count {
      let c = text[position]
      position += 1
      guard c == "\\", position < text.count else {
        out.append(c)
        continue
      }
      let escaped = text[position]
      position += 1
      switch escaped {
      case "t": out.append("\t")
      case "n": out.append("\n")
      case "r": out.append("\r")
      case "f": out.append("\u{0C}")
      case "u":
        let digits = String(
          String.UnicodeScalarView(text[position..<min(position + 4, text.count)]))
        guard digits.count == 4, let value = UInt32(digits, radix: 16),
          let scalar = Unicode.Scalar(value)
        else {
          throw ConfigError(
            file: file, line: line, column: column, key: "",
            message: "malformed \\uXXXX escape '\\u\(digits)'")
        }
        out.append(scalar)
        position += 4
      default: out.append(escaped)
      }
    }
    return String(out)
  }
}
