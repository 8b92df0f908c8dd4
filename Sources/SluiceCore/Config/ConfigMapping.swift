import Synchronization

/// A mapping whose keys have been checked against the allowed ones; typed getters give errors at
/// the offending value, or at the mapping for a missing key.
public struct ConfigMapping: Sendable {
  public let node: ConfigNode
  public let entries: [ConfigNode.Entry]
  /// Where the keys looked up are recorded, for a connector's `config:` (``ConnectorDefinition/configMapping(_:)``).
  var reads: ConfigKeyReads? = nil

  public func has(_ key: String) -> Bool { self.node(key) != nil }

  /// The value under `key`, nil when absent or written as null.
  public func node(_ key: String) -> ConfigNode? {
    reads?.record(key)
    guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else {
      return nil
    }
    return value
  }

  public func required(_ key: String) throws(ConfigError) -> ConfigNode {
    guard let value = node(key) else { throw node.error("missing required key '\(key)'") }
    return value
  }

  public func string(_ key: String) throws(ConfigError) -> String { try required(key).string() }

  public func string(_ key: String, default value: String) throws(ConfigError) -> String {
    try node(key)?.string() ?? value
  }

  public func optionalString(_ key: String) throws(ConfigError) -> String? {
    try node(key)?.string()
  }

  public func int(_ key: String, default value: Int) throws(ConfigError) -> Int {
    try node(key)?.int() ?? value
  }

  public func int(_ key: String, default value: Int, range: ClosedRange<Int>) throws(ConfigError)
    -> Int
  {
    guard let n = node(key) else { return value }
    let v = try n.int()
    guard range.contains(v) else {
      throw n.error(
        "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(n.writtenText == nil ? "\(v)" : n.kindDescription)"
      )
    }
    return v
  }

  public func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
    try node(key)?.bool() ?? value
  }

  public func double(_ key: String, default value: Double) throws(ConfigError) -> Double {
    try node(key)?.double() ?? value
  }

  public func bytes(_ key: String, default value: Int64) throws(ConfigError) -> Int64 {
    try node(key)?.bytes() ?? value
  }

  public func optionalBytes(_ key: String) throws(ConfigError) -> Int64? { try node(key)?.bytes() }

  /// A duration key (`500ms`, `10s`, a bare number meaning milliseconds) as a `Duration`.
  public func duration(_ key: String, default value: Duration) throws(ConfigError) -> Duration {
    try node(key)?.duration() ?? value
  }

  public func stringList(_ key: String) throws(ConfigError) -> [String] {
    try required(key).stringList()
  }

  /// One of a fixed set of words, with a did-you-mean for near misses.
  public func oneOf(_ key: String, allowed: [String], default value: String) throws(ConfigError)
    -> String
  {
    guard let n = node(key) else { return value }
    let text = try n.string()
    guard allowed.contains(text) else {
      var message = "expected one of \(allowed.joined(separator: ", ")), got \(n.kindDescription)"
      if n.writtenText == nil, let guess = DidYouMean.suggestion(for: text, among: allowed) {
        message += "; did you mean '\(guess)'?"
      }
      throw n.error(message)
    }
    return text
  }

  /// `host:port`, with the port checked.
  public func hostPort(_ key: String, default value: (host: String, port: Int)) throws(ConfigError)
    -> (host: String, port: Int)
  {
    guard let n = node(key) else { return value }
    let text = try n.string()
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
      (1...65535).contains(port)
    else {
      throw n.error("expected host:port like 127.0.0.1:8083, got \(n.kindDescription)")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "0.0.0.0" : host, port)
  }
}

/// The keys a connector's config parser looked up, present or not. A connector declares its
/// keys once, in its `definitions` (what `/connector-plugins` describes and what a file may
/// hold); the parser then reads them by name. Recording the reads lets a test hold the two
/// together: a key read but not declared would be refused as unknown, one declared but never
/// read would be accepted and ignored.
public final class ConfigKeyReads: Sendable {
  private let keys = Mutex<Set<String>>([])

  public init() {}

  func record(_ key: String) { keys.withLock { _ = $0.insert(key) } }

  /// Every key looked up so far.
  public var all: Set<String> { keys.withLock { $0 } }
}
