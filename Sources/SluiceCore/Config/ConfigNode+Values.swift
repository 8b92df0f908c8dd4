import Foundation

extension ConfigNode {
  // MARK: - Structure

  /// This node as a mapping whose keys must all be among `allowedKeys`.
  ///
  /// An absent value (`log:` with nothing under it) is an empty mapping. An unknown key is
  /// reported at the key, with the closest allowed key (`unknown key 'partitons'; did you mean
  /// 'partitions'?`) or, with none close, the list of allowed keys.
  public func mapping(allowedKeys: [String]) throws(ConfigError) -> ConfigMapping {
    let entries: [Entry]
    switch content {
    case .mapping(let list): entries = list
    case .null: entries = []
    default: throw error("expected a mapping (key: value), got \(kindDescription)")
    }
    for entry in entries where !allowedKeys.contains(entry.key) {
      var message = "unknown key '\(entry.key)'"
      if let guess = DidYouMean.suggestion(for: entry.key, among: allowedKeys) {
        message += "; did you mean '\(guess)'?"
      } else if allowedKeys.isEmpty {
        message += "; no keys are allowed here"
      } else {
        message += "; expected one of: \(allowedKeys.joined(separator: ", "))"
      }
      throw entry.error(message)
    }
    return ConfigMapping(node: self, entries: entries)
  }

  /// The items of a list.
  public func list() throws(ConfigError) -> [ConfigNode] {
    guard case .sequence(let items) = content else {
      throw error("expected a list, got \(kindDescription)")
    }
    return items
  }

  // MARK: - Scalars

  /// The scalar as text.
  public func string() throws(ConfigError) -> String {
    guard case .scalar(let text) = content else {
      throw error("expected a string, got \(kindDescription)")
    }
    return text
  }

  /// The scalar as an integer (`42`, `-1`, `1_000_000`).
  public func int() throws(ConfigError) -> Int {
    guard case .scalar(let text) = content, let value = Self.integer(text) else {
      throw error("expected an integer, got \(kindDescription)")
    }
    return value
  }

  /// The scalar as an integer within `range`.
  public func int(range: ClosedRange<Int>) throws(ConfigError) -> Int {
    let value = try int()
    guard range.contains(value) else {
      throw error("expected \(Self.describe(range)), got \(value)")
    }
    return value
  }

  /// The scalar as a number (`0.5`, `3`, `1e3`).
  public func double() throws(ConfigError) -> Double {
    guard case .scalar(let text) = content,
      let value = Double(text.replacingOccurrences(of: "_", with: "")),
      value.isFinite
    else {
      throw error("expected a number, got \(kindDescription)")
    }
    return value
  }

  /// The scalar as a boolean: `true` or `false` (in any case).
  public func bool() throws(ConfigError) -> Bool {
    guard case .scalar(let text) = content else {
      throw error("expected true or false, got \(kindDescription)")
    }
    switch text.lowercased() {
    case "true": return true
    case "false": return false
    default: throw error("expected true or false, got '\(text)'")
    }
  }

  /// A size in bytes: an integer (`512`) or a number with a unit, `KiB`, `MiB`, `GiB`, `TiB`
  /// (powers of 1024) or `KB`, `MB`, `GB`, `TB` (powers of 1000), or `B`: `64KiB`, `256MiB`,
  /// `1.5GiB`.
  public func bytes() throws(ConfigError) -> Int64 {
    guard case .scalar(let raw) = content,
      let value = Self.measure(raw, units: Self.sizeUnits, bare: 1)
    else {
      throw error("expected a size like 256MiB, got \(kindDescription)")
    }
    return value
  }

  /// A duration in milliseconds: `500ms`, `10s`, `5m`, `24h`, `7d` (or `1.5s`); a bare integer
  /// means milliseconds.
  public func durationMilliseconds() throws(ConfigError) -> Int64 {
    guard case .scalar(let raw) = content,
      let value = Self.measure(raw, units: Self.durationUnits, bare: 1)
    else {
      throw error("expected a duration like 500ms, 10s, 5m, 24h or 7d, got \(kindDescription)")
    }
    return value
  }

  /// A list of strings; a single string is a list of one.
  public func stringList() throws(ConfigError) -> [String] {
    switch content {
    case .scalar(let text):
      return [text]
    case .sequence(let items):
      var strings: [String] = []
      for item in items { strings.append(try item.string()) }
      return strings
    default:
      throw error("expected a list of strings, got \(kindDescription)")
    }
  }

  /// One of a fixed set of words, with a did-you-mean for a near miss:
  /// `expected one of batch, interval, none, got 'bach'; did you mean 'batch'?`.
  public func oneOf(_ allowed: [String]) throws(ConfigError) -> String {
    guard case .scalar(let text) = content, allowed.contains(text) else {
      var message = "expected one of \(allowed.joined(separator: ", ")), got \(kindDescription)"
      if case .scalar(let text) = content,
        let guess = DidYouMean.suggestion(for: text, among: allowed)
      {
        message += "; did you mean '\(guess)'?"
      }
      throw error(message)
    }
    return text
  }

  /// An address `host:port` (`127.0.0.1:8083`, `[::1]:8083`, `:8083` for all interfaces, as
  /// `0.0.0.0`), the port from 1 to 65535.
  public func hostPort() throws(ConfigError) -> (host: String, port: Int) {
    let text = try string()
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...])
    else {
      throw error("expected host:port like 127.0.0.1:8083, got '\(text)'")
    }
    guard (1...65535).contains(port) else {
      throw error("expected a port from 1 to 65535, got \(port)")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") {
      host = String(host.dropFirst().dropLast())
    } else if host.contains(":") {
      throw error(
        "expected host:port like 127.0.0.1:8083 (an IPv6 host in brackets, [::1]:8083), got '\(text)'"
      )
    }
    if host.contains(where: { $0.isWhitespace }) {
      throw error("expected host:port like 127.0.0.1:8083, got '\(text)'")
    }
    return (host.isEmpty ? "0.0.0.0" : host, port)
  }

  // MARK: - Parsing helpers

  /// Units of ``bytes()``, longest suffix first so `MiB` is not read as `B`.
  static let sizeUnits: [(suffix: String, factor: Int64)] = [
    ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
    ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1),
  ]

  /// Units of ``durationMilliseconds()``.
  static let durationUnits: [(suffix: String, factor: Int64)] = [
    ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
  ]

  /// An integer, allowing `_` between digits.
  static func integer(_ text: String) -> Int? {
    guard !text.hasPrefix("_"), !text.hasSuffix("_"), !text.contains("__") else { return nil }
    return Int(text.replacingOccurrences(of: "_", with: ""))
  }

  /// A non-negative amount: a bare integer times `bare`, or a number (maybe with a fraction)
  /// followed by one of `units`, optionally after a space; nil when the text is neither or the
  /// amount overflows.
  static func measure(_ raw: String, units: [(suffix: String, factor: Int64)], bare: Int64)
    -> Int64?
  {
    let text = raw.trimmingCharacters(in: .whitespaces)
    if let value = integer(text) {
      guard value >= 0 else { return nil }
      let (product, overflow) = Int64(value).multipliedReportingOverflow(by: bare)
      return overflow ? nil : product
    }
    for (suffix, factor) in units where text.hasSuffix(suffix) {
      let number = text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
      guard !number.isEmpty, number.first?.isNumber == true || number.first == "." else {
        return nil
      }
      if let whole = integer(number) {
        let (product, overflow) = Int64(whole).multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
      }
      guard number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
        let fraction = Double(number)
      else {
        return nil
      }
      let product = (fraction * Double(factor)).rounded(.down)
      return product < 9.2e18 ? Int64(product) : nil
    }
    return nil
  }

  /// `an integer from 1 to 65535`, `an integer of at least 1`.
  static func describe(_ range: ClosedRange<Int>) -> String {
    switch (range.lowerBound, range.upperBound) {
    case (Int.min, Int.max): "an integer"
    case (let low, Int.max): "an integer of at least \(low)"
    case (Int.min, let high): "an integer of at most \(high)"
    case (let low, let high): "an integer from \(low) to \(high)"
    }
  }
}

extension ConfigNode {
  /// The keys of a mapping node, in file order; empty for any other node.
  public var mappingKeys: [String] {
    guard case .mapping(let entries) = content else { return [] }
    return entries.map(\.key)
  }
}
