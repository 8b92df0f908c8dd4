/// A mapping whose keys have been checked against the allowed ones (see
/// ``ConfigNode/mapping(allowedKeys:)``), with typed getters.
///
/// Every getter throws a ``ConfigError`` at the offending value; a missing required key is
/// reported at the mapping itself (`missing required key 'url'`). A key written with no value
/// (`key:` or `key: null`) counts as absent.
public struct ConfigMapping: Sendable {
  /// The mapping's own node (for errors about the mapping as a whole).
  public let node: ConfigNode
  /// The entries in file order.
  public let entries: [ConfigNode.Entry]

  /// Creates a mapping view of `node` with these entries.
  public init(node: ConfigNode, entries: [ConfigNode.Entry]) {
    self.node = node
    self.entries = entries
  }

  /// The keys present, in file order (including those without a value).
  public var keys: [String] { entries.map(\.key) }

  /// Whether `key` has a value.
  public func has(_ key: String) -> Bool { self.node(key) != nil }

  /// The entry for `key`, present even when its value is null; for errors at the key.
  public func entry(_ key: String) -> ConfigNode.Entry? { entries.first { $0.key == key } }

  /// The value under `key`, or nil when it is absent or null.
  public func node(_ key: String) -> ConfigNode? {
    guard let value = entry(key)?.value, !value.isNull else { return nil }
    return value
  }

  /// The value under `key`; an error at the mapping when it is absent.
  public func required(_ key: String) throws(ConfigError) -> ConfigNode {
    if let value = node(key) { return value }
    if let entry = entry(key) { throw entry.value.error("'\(key)' needs a value") }
    throw node.error("missing required key '\(key)'")
  }

  /// An error at the mapping itself (the `missing required key` kind).
  public func error(_ message: String) -> ConfigError { node.error(message) }

  // MARK: - Nested structure

  /// The mapping under `key`, checked against `allowedKeys`; an empty mapping (located at this
  /// one, with the key's path) when the key is absent.
  public func mapping(_ key: String, allowedKeys: [String]) throws(ConfigError) -> ConfigMapping {
    try (node(key) ?? ConfigNode.absent(key, in: node)).mapping(allowedKeys: allowedKeys)
  }

  // MARK: - Strings

  /// The string under a required key.
  public func string(_ key: String) throws(ConfigError) -> String { try required(key).string() }

  /// The string under `key`, or `value` when absent.
  public func string(_ key: String, default value: String) throws(ConfigError) -> String {
    try node(key)?.string() ?? value
  }

  /// The string under `key`, or nil when absent.
  public func optionalString(_ key: String) throws(ConfigError) -> String? {
    try node(key)?.string()
  }

  /// The strings under a required key: a list of strings, or one string as a list of one.
  public func stringList(_ key: String) throws(ConfigError) -> [String] {
    try required(key).stringList()
  }

  /// The strings under `key`, or `value` when absent.
  public func stringList(_ key: String, default value: [String]) throws(ConfigError) -> [String] {
    try node(key)?.stringList() ?? value
  }

  /// One of `allowed` under a required key; a did-you-mean for a near miss.
  public func oneOf(_ key: String, allowed: [String]) throws(ConfigError) -> String {
    try required(key).oneOf(allowed)
  }

  /// One of `allowed` under `key`, or `value` when absent; a did-you-mean for a near miss.
  public func oneOf(_ key: String, allowed: [String], default value: String) throws(ConfigError)
    -> String
  {
    try node(key)?.oneOf(allowed) ?? value
  }

  // MARK: - Numbers

  /// The integer under a required key.
  public func int(_ key: String) throws(ConfigError) -> Int { try required(key).int() }

  /// The integer under `key`, or `value` when absent.
  public func int(_ key: String, default value: Int) throws(ConfigError) -> Int {
    try node(key)?.int() ?? value
  }

  /// The integer under a required key, within `range`.
  public func int(_ key: String, range: ClosedRange<Int>) throws(ConfigError) -> Int {
    try required(key).int(range: range)
  }

  /// The integer under `key` within `range`, or `value` when absent.
  public func int(_ key: String, default value: Int, range: ClosedRange<Int>) throws(ConfigError)
    -> Int
  {
    try node(key)?.int(range: range) ?? value
  }

  /// The integer under `key`, or nil when absent.
  public func optionalInt(_ key: String) throws(ConfigError) -> Int? { try node(key)?.int() }

  /// The number under a required key.
  public func double(_ key: String) throws(ConfigError) -> Double { try required(key).double() }

  /// The number under `key`, or `value` when absent.
  public func double(_ key: String, default value: Double) throws(ConfigError) -> Double {
    try node(key)?.double() ?? value
  }

  /// The boolean under a required key.
  public func bool(_ key: String) throws(ConfigError) -> Bool { try required(key).bool() }

  /// The boolean under `key`, or `value` when absent.
  public func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
    try node(key)?.bool() ?? value
  }

  // MARK: - Sizes, durations, addresses

  /// The size in bytes under a required key (`512`, `64KiB`, `256MiB`, `1GB`).
  public func bytes(_ key: String) throws(ConfigError) -> Int64 { try required(key).bytes() }

  /// The size in bytes under `key`, or `value` when absent.
  public func bytes(_ key: String, default value: Int64) throws(ConfigError) -> Int64 {
    try node(key)?.bytes() ?? value
  }

  /// The size in bytes under `key`, or nil when absent.
  public func optionalBytes(_ key: String) throws(ConfigError) -> Int64? { try node(key)?.bytes() }

  /// The duration in milliseconds under a required key (`500ms`, `10s`, `5m`, `24h`, `7d`).
  public func durationMilliseconds(_ key: String) throws(ConfigError) -> Int64 {
    try required(key).durationMilliseconds()
  }

  /// The duration in milliseconds under `key`, or `value` when absent.
  public func durationMilliseconds(_ key: String, default value: Int64) throws(ConfigError) -> Int64
  {
    try node(key)?.durationMilliseconds() ?? value
  }

  /// The address `host:port` under a required key.
  public func hostPort(_ key: String) throws(ConfigError) -> (host: String, port: Int) {
    try required(key).hostPort()
  }

  /// The address `host:port` under `key`, or `value` when absent.
  public func hostPort(_ key: String, default value: (host: String, port: Int)) throws(ConfigError)
    -> (
      host: String, port: Int
    )
  {
    guard let node = node(key) else { return value }
    return try node.hostPort()
  }
}
