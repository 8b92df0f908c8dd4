import Foundation
import Yams

/// One value of a config file with where it came from (file, key path, line, column), so every
/// later check can point at the exact spot. Scalars are already interpolated.
public struct ConfigNode: Sendable {
  /// A mapping key with its own position (unknown-key errors point at the key).
  public struct Entry: Sendable {
    public var key: String
    public var line: Int
    public var column: Int
    public var value: ConfigNode
  }

  public enum Content: Sendable {
    case scalar(String)
    case mapping([Entry])
    case sequence([ConfigNode])
    case null
  }

  public var file: String
  /// Dotted key path from the file's root: `config.tables[1]`.
  public var path: String
  public var line: Int
  public var column: Int
  public var content: Content
  /// For a scalar that `${env:}`/`${file:}` expanded: the text as written. Errors show this,
  /// never the expanded value, which may be a secret.
  public var writtenText: String? = nil

  /// The most nodes a file may expand to. YAML aliases repeat a node without repeating its text
  /// (Yams resolves them), so a small file can stand for billions of nodes — the "billion laughs".
  public static let maximumNodes = 100_000
  /// The largest config file read; a connector file is a few hundred bytes.
  public static let maximumFileBytes = 1 << 20

  /// An error located at this node.
  public func error(_ message: String) -> ConfigError {
    ConfigError(file: file, line: line, column: column, key: path, message: message)
  }

  public var isNull: Bool {
    if case .null = content { return true }
    return false
  }

  /// A short description of what the node holds, for "expected X, got Y" messages: the text as
  /// written, with `(value hidden)` when `${env:}`/`${file:}` expanded it. Connectors' own errors
  /// should use it rather than quoting the value, which may be a secret.
  public var kindDescription: String {
    switch content {
    case .scalar(let text):
      writtenText.map { "'\($0)' (value hidden)" } ?? "'\(text)'"
    case .mapping: "a mapping"
    case .sequence: "a list"
    case .null: "nothing"
    }
  }

  // MARK: - Parsing

  /// Parses YAML (JSON is accepted too) and interpolates every scalar value.
  public static func parse(
    text: String, file: String, interpolation: Interpolation = Interpolation()
  ) throws(ConfigError)
    -> ConfigNode
  {
    try parse(text: text, file: file, expanding: interpolation)
  }

  /// Parses YAML (or JSON) and keeps every scalar as written: `${env:}` and `${file:}` are not
  /// expanded (for configs that are stored and shown as given, expanded only when used).
  public static func parseAsWritten(text: String, file: String) throws(ConfigError) -> ConfigNode {
    try parse(text: text, file: file, expanding: nil)
  }

  private static func parse(text: String, file: String, expanding interpolation: Interpolation?)
    throws(ConfigError) -> ConfigNode
  {
    if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
      throw ConfigError(file: file, line: 1, column: 1, key: "", message: "file is empty")
    }
    if text.utf8.count > maximumFileBytes {
      throw ConfigError(
        file: file, line: 1, column: 1, key: "",
        message: "file is larger than \(maximumFileBytes >> 20)MiB; a config file is far smaller")
    }
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch let error as YamlError {
      throw syntaxError(error, file: file, text: text)
    } catch {
      throw ConfigError(file: file, line: 1, column: 1, key: "", message: "cannot parse: \(error)")
    }
    guard let root else {
      throw ConfigError(file: file, line: 1, column: 1, key: "", message: "file is empty")
    }
    var budget = maximumNodes
    return try convert(root, file: file, path: "", interpolation: interpolation, budget: &budget)
  }

  /// Reads and parses a file; its `${file:}` references may read beside it.
  public static func load(
    path: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(ConfigError)
    -> ConfigNode
  {
    try load(
      path: path,
      interpolation: .beside(path, environment: environment))
  }

  /// Reads and parses a file with these interpolation rules.
  public static func load(path: String, interpolation: Interpolation) throws(ConfigError)
    -> ConfigNode
  {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ConfigError(
        file: path, line: 1, column: 1, key: "",
        message: "cannot read the file: \((error as NSError).localizedDescription)")
    }
    return try parse(text: text, file: path, interpolation: interpolation)
  }

  private static func convert(
    _ node: Node, file: String, path: String, interpolation: Interpolation?, budget: inout Int
  ) throws(ConfigError)
    -> ConfigNode
  {
    let line = node.mark?.line ?? 1
    let column = node.mark?.column ?? 1
    budget -= 1
    if budget < 0 {
      throw ConfigError(
        file: file, line: line, column: column, key: path,
        message:
          "the file expands to more than \(maximumNodes) values (YAML aliases repeating aliases?); refused"
      )
    }
    func located(_ content: Content) -> ConfigNode {
      ConfigNode(file: file, path: path, line: line, column: column, content: content)
    }
    switch node {
    case .scalar(let scalar):
      if scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
        return located(.null)
      }
      guard let interpolation else { return located(.scalar(scalar.string)) }
      switch interpolation.expand(scalar.string) {
      case .success(let value):
        var node = located(.scalar(value))
        if value != scalar.string { node.writtenText = scalar.string }
        return node
      case .failure(let failure):
        throw ConfigError(
          file: file, line: line, column: column, key: path, message: failure.message)
      }
    case .mapping(let mapping):
      var entries: [Entry] = []
      for (keyNode, valueNode) in mapping {
        guard case .scalar(let keyScalar) = keyNode else {
          throw ConfigError(
            file: file, line: keyNode.mark?.line ?? line, column: keyNode.mark?.column ?? column,
            key: path,
            message: "keys must be plain names")
        }
        let key = keyScalar.string
        let keyLine = keyNode.mark?.line ?? line
        let keyColumn = keyNode.mark?.column ?? column
        let childPath = path.isEmpty ? key : "\(path).\(key)"
        if let first = entries.first(where: { $0.key == key }) {
          throw ConfigError(
            file: file, line: keyLine, column: keyColumn, key: childPath,
            message: "duplicate key '\(key)' (first given at line \(first.line))")
        }
        let value = try convert(
          valueNode, file: file, path: childPath, interpolation: interpolation, budget: &budget)
        entries.append(Entry(key: key, line: keyLine, column: keyColumn, value: value))
      }
      return located(.mapping(entries))
    case .sequence(let sequence):
      var items: [ConfigNode] = []
      for (i, item) in sequence.enumerated() {
        items.append(
          try convert(
            item, file: file, path: "\(path)[\(i)]", interpolation: interpolation,
            budget: &budget))
      }
      return located(.sequence(items))
    case .alias:
      throw ConfigError(
        file: file, line: line, column: column, key: path, message: "YAML aliases are not supported"
      )
    }
  }

  private static func syntaxError(_ error: YamlError, file: String, text: String) -> ConfigError {
    switch error {
    case .scanner(let context, let problem, let mark, _),
      .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let detail = context.map { "\(problem) (\($0.text))" } ?? problem
      return ConfigError(
        file: file, line: mark.line, column: mark.column, key: "",
        message: "invalid YAML: \(detail)")
    case .duplicatedKeysInMapping(let duplicates, let context):
      // Yams points at the mapping; point at the key's second occurrence instead.
      let key = duplicates.first ?? "?"
      var seen = 0
      for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false)
        .enumerated()
      where number + 1 >= context.mark.line {
        let trimmed = line.drop(while: { $0 == " " || $0 == "-" })
        if trimmed.hasPrefix("\(key):") || trimmed.hasPrefix("\"\(key)\":") {
          seen += 1
          if seen == 2 {
            return ConfigError(
              file: file, line: number + 1, column: line.count - trimmed.count + 1, key: key,
              message: "duplicate key '\(key)'")
          }
        }
      }
      return ConfigError(
        file: file, line: context.mark.line, column: context.mark.column, key: "",
        message: "duplicate key '\(key)'")
    default:
      return ConfigError(file: file, line: 1, column: 1, key: "", message: "invalid YAML: \(error)")
    }
  }

  // MARK: - Typed access

  /// This node as a mapping whose keys must all be in `allowedKeys`.
  public func mapping(allowedKeys: [String]) throws(ConfigError) -> ConfigMapping {
    guard case .mapping(let entries) = content else {
      if isNull { return ConfigMapping(node: self, entries: []) }
      throw error("expected a mapping (key: value), got \(kindDescription)")
    }
    for entry in entries where !allowedKeys.contains(entry.key) {
      var message = "unknown key '\(entry.key)'"
      if let guess = DidYouMean.suggestion(for: entry.key, among: allowedKeys) {
        message += "; did you mean '\(guess)'?"
      } else {
        message += "; expected one of: \(allowedKeys.joined(separator: ", "))"
      }
      throw ConfigError(
        file: file, line: entry.line, column: entry.column, key: entry.value.path, message: message)
    }
    return ConfigMapping(node: self, entries: entries)
  }

  public func string() throws(ConfigError) -> String {
    guard case .scalar(let text) = content else {
      throw error("expected a string, got \(kindDescription)")
    }
    return text
  }

  public func int() throws(ConfigError) -> Int {
    guard case .scalar(let text) = content,
      let value = Int(text.replacingOccurrences(of: "_", with: ""))
    else {
      throw error("expected an integer, got \(kindDescription)")
    }
    return value
  }

  /// A finite number: `nan` and `inf` are errors here, so no caller converts them to an integer.
  public func double() throws(ConfigError) -> Double {
    guard case .scalar(let text) = content, let value = Double(text), value.isFinite else {
      throw error("expected a number, got \(kindDescription)")
    }
    return value
  }

  public func bool() throws(ConfigError) -> Bool {
    guard case .scalar(let text) = content else {
      throw error("expected true or false, got \(kindDescription)")
    }
    switch text.lowercased() {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default: throw error("expected true or false, got \(kindDescription)")
    }
  }

  /// The largest size a config may give (1 EiB): sums and products of sizes stay far from overflow.
  public static let maximumBytes: Int64 = 1 << 60
  /// The longest duration a config may give (100 years), so adding one to a clock cannot overflow.
  public static let maximumMilliseconds: Int64 = 100 * 365 * 86_400_000

  /// A size: `1024`, `64KiB`, `1MiB`, `256MiB`, `1GiB` (or `KB`/`MB`/`GB`, powers of 1000),
  /// at most ``maximumBytes``.
  public func bytes() throws(ConfigError) -> Int64 {
    let text = try string().trimmingCharacters(in: .whitespaces)
    let units: [(String, Double)] = [
      ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
      ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1),
    ]
    let number = units.first { text.hasSuffix($0.0) }.map { suffix, factor in
      (text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces), factor)
    }
    if let value = try bounded(
      number ?? (text, 1), maximum: Self.maximumBytes, largest: "1EiB")
    {
      return value
    }
    throw error("expected a size like 256MiB, got \(kindDescription)")
  }

  /// A duration in milliseconds: `500ms`, `10s`, `5m`, `24h`, `7d`; a bare integer means ms;
  /// at most ``maximumMilliseconds``.
  public func durationMilliseconds() throws(ConfigError) -> Int64 {
    let text = try string().trimmingCharacters(in: .whitespaces)
    let units: [(String, Double)] = [
      ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]
    let number = units.first { text.hasSuffix($0.0) }.map { suffix, factor in
      (String(text.dropLast(suffix.count)), factor)
    }
    if let value = try bounded(
      number ?? (text, 1), maximum: Self.maximumMilliseconds, largest: "36500d")
    {
      return value
    }
    throw error("expected a duration like 500ms, 10s, 5m, 24h or 7d, got \(kindDescription)")
  }

  /// ``durationMilliseconds()`` as a `Duration`: the config boundary where a YAML duration
  /// (`500ms`, `10s`, or a bare number of milliseconds under a `_ms` key) becomes the type the
  /// runtime waits with.
  public func duration() throws(ConfigError) -> Duration {
    .milliseconds(try durationMilliseconds())
  }

  /// `number × factor` as an integer: nil when `number` is not a non-negative number, an error
  /// naming the limit when it is above `maximum` (`inf` and `1e300` included), so that no
  /// conversion from Double can trap.
  private func bounded(
    _ value: (number: String, factor: Double), maximum: Int64, largest: String
  ) throws(ConfigError) -> Int64? {
    if let exact = Int64(value.number.replacingOccurrences(of: "_", with: "")), value.factor == 1 {
      guard exact >= 0 else { return nil }
      guard exact <= maximum else {
        throw error("\(kindDescription) is larger than the largest allowed, \(largest)")
      }
      return exact
    }
    guard let n = Double(value.number), !n.isNaN, n >= 0 else { return nil }
    let product = n * value.factor
    guard product.isFinite, product <= Double(maximum) else {
      throw error("\(kindDescription) is larger than the largest allowed, \(largest)")
    }
    return Int64(product)
  }

  /// A list of strings; a single string counts as a one-element list.
  public func stringList() throws(ConfigError) -> [String] {
    switch content {
    case .scalar(let text): return [text]
    case .sequence(let items):
      var out: [String] = []
      for item in items { out.append(try item.string()) }
      return out
    default: throw error("expected a list of strings, got \(kindDescription)")
    }
  }

  /// The items of a list.
  public func list() throws(ConfigError) -> [ConfigNode] {
    guard case .sequence(let items) = content else {
      throw error("expected a list, got \(kindDescription)")
    }
    return items
  }
}

extension ConfigNode {
  /// The content without positions — `{url: 'postgresql://…', tables: ['a', 'b']}` — for
  /// comparing what two definitions hold however they were written.
  public var outline: String {
    switch content {
    case .null: "null"
    case .scalar(let text): "'\(text)'"
    case .sequence(let items): "[" + items.map(\.outline).joined(separator: ", ") + "]"
    case .mapping(let entries):
      "{" + entries.map { "\($0.key): \($0.value.outline)" }.joined(separator: ", ") + "}"
    }
  }
}
