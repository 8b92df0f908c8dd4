import Foundation

/// One value of a config file together with where it came from — the file, the dotted key path
/// and the line and column — so every later check can point at the exact spot.
///
/// A file becomes a tree of nodes with ``parse(text:file:environment:readFile:)`` or
/// ``load(path:environment:)``; scalar values are already interpolated (see ``Interpolation``).
/// Typed access (``mapping(allowedKeys:)``, ``int()``, ``bytes()``, …) throws a ``ConfigError``
/// located at the offending node.
public struct ConfigNode: Sendable, Equatable {
  /// One `key: value` of a mapping, with the key's own position (an unknown key is reported
  /// where the key is written, not where its value is).
  public struct Entry: Sendable, Equatable {
    /// The key as written.
    public var key: String
    /// The key's line, from 1.
    public var line: Int
    /// The key's column, from 1.
    public var column: Int
    /// The value.
    public var value: ConfigNode

    /// Creates an entry.
    public init(key: String, line: Int, column: Int, value: ConfigNode) {
      self.key = key
      self.line = line
      self.column = column
      self.value = value
    }

    /// An error located at the key (for a key that is not allowed here).
    public func error(_ message: String) -> ConfigError {
      ConfigError(file: value.file, line: line, column: column, key: value.path, message: message)
    }
  }

  /// What a node holds.
  public enum Content: Sendable, Equatable {
    /// A scalar, as text (numbers and booleans too; typed access converts them).
    case scalar(String)
    /// A mapping, keys in file order.
    case mapping([Entry])
    /// A sequence.
    case sequence([ConfigNode])
    /// An absent value: `key:`, `~` or `null`.
    case null
  }

  /// The file as named when loaded.
  public var file: String
  /// The dotted key path from the file's root: `config.url`, `config.tables[1]`; empty for the
  /// root.
  public var path: String
  /// The line where the value starts, from 1.
  public var line: Int
  /// The column where the value starts, from 1.
  public var column: Int
  /// The value.
  public var content: Content

  /// Creates a node.
  public init(file: String, path: String, line: Int, column: Int, content: Content) {
    self.file = file
    self.path = path
    self.line = line
    self.column = column
    self.content = content
  }

  /// An error located at this node, for a caller's own checks (`node.error("expected …")`).
  public func error(_ message: String) -> ConfigError {
    ConfigError(file: file, line: line, column: column, key: path, message: message)
  }

  /// Whether the value is absent (`key:`, `~`, `null`).
  public var isNull: Bool {
    if case .null = content { return true }
    return false
  }

  /// A placeholder for a key that is not in the file, located at `parent` with the key's path,
  /// so that "missing required key" errors inside it point at the enclosing mapping.
  public static func absent(_ key: String, in parent: ConfigNode) -> ConfigNode {
    ConfigNode(
      file: parent.file, path: parent.childPath(key), line: parent.line, column: parent.column,
      content: .null)
  }

  /// The path of a key of this mapping.
  func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  /// What the node holds, for "expected X, got Y" messages: `'abc'`, `a mapping`, `a list`.
  var kindDescription: String {
    switch content {
    case .scalar(let text): "'\(text)'"
    case .mapping: "a mapping"
    case .sequence: "a list"
    case .null: "nothing"
    }
  }

  // MARK: - Loading

  /// Parses YAML (or JSON, which is YAML too) into located nodes, interpolating every scalar
  /// value with `environment` and `readFile`.
  ///
  /// - Throws: ``ConfigError`` for an empty file, a syntax error (at Yams' position), a
  ///   duplicate key (at its second occurrence) or a reference that cannot be expanded (at the
  ///   scalar).
  public static func parse(
    text: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment,
    readFile: @escaping @Sendable (String) throws -> String = Interpolation.readFromFileSystem
  ) throws(ConfigError) -> ConfigNode {
    try parse(
      text: text, file: file,
      interpolation: Interpolation(environment: environment, readFile: readFile))
  }

  /// Parses YAML or JSON with the given interpolation.
  public static func parse(text: String, file: String, interpolation: Interpolation)
    throws(ConfigError) -> ConfigNode
  {
    try YAMLComposition(text: text, file: file, interpolation: interpolation).root()
  }

  /// Reads and parses a file.
  ///
  /// - Throws: ``ConfigError`` at `path:1:1` when the file cannot be read, else as
  ///   ``parse(text:file:environment:readFile:)``.
  public static func load(
    path: String, environment: [String: String] = ProcessInfo.processInfo.environment
  )
    throws(ConfigError) -> ConfigNode
  {
    try parse(text: readConfigFile(path), file: path, environment: environment)
  }

  /// The text of a config file, or an error at its first line saying why it cannot be read.
  static func readConfigFile(_ path: String) throws(ConfigError) -> String {
    do {
      return try ConfigFile.contents(of: path)
    } catch {
      throw ConfigError(
        file: path, line: 1, column: 1, key: "", message: "cannot read the file: \(error.reason)")
    }
  }
}
