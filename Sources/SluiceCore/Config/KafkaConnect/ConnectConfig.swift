/// A connector config in Kafka Connect's form: an ordered, flat map of string keys to string
/// values (`"connector.class": "…"`, `"tasks.max": "1"`), each entry remembering where it was
/// written so an error can point at it.
///
/// Values are kept exactly as written: `${env:…}` and `${file:…}` references are expanded only
/// when the config is translated into a ``ConnectorDefinition`` (see
/// ``ConnectorRegistry/definition(name:config:file:interpolation:)``), never in what is kept,
/// shown or written back.
public struct ConnectConfig: Sendable, Equatable, CustomStringConvertible {
  /// One `key = value` with its position (line and column 0 when it came from no file).
  public struct Entry: Sendable, Equatable {
    public var key: String
    public var value: String
    public var file: String
    public var line: Int
    public var column: Int

    public init(key: String, value: String, file: String = "", line: Int = 0, column: Int = 0) {
      self.key = key
      self.value = value
      self.file = file
      self.line = line
      self.column = column
    }

    /// Entries are equal when their key and value are; where they were written does not count.
    public static func == (a: Entry, b: Entry) -> Bool { a.key == b.key && a.value == b.value }

    /// An error located at this entry and naming its key.
    public func error(_ message: String) -> ConfigError {
      ConfigError(file: file, line: line, column: column, key: key, message: message)
    }
  }

  public private(set) var entries: [Entry]

  /// A config of these entries; a key given twice keeps its last value, at its later place.
  public init(entries: [Entry] = []) {
    self.entries = []
    for entry in entries {
      self[entry.key] = nil
      self.entries.append(entry)
    }
  }

  /// A config from plain pairs, in the order given (the REST API's JSON object).
  public init(_ pairs: KeyValuePairs<String, String>) {
    self.init(entries: pairs.map { Entry(key: $0.key, value: $0.value) })
  }

  public var keys: [String] { entries.map(\.key) }
  public var isEmpty: Bool { entries.isEmpty }

  /// The value of `key`; setting nil removes it, setting a new key appends it.
  public subscript(key: String) -> String? {
    get { entries.first { $0.key == key }?.value }
    set {
      if let index = entries.firstIndex(where: { $0.key == key }) {
        if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
      } else if let newValue {
        entries.append(Entry(key: key, value: newValue))
      }
    }
  }

  /// The entry of `key`, with its position.
  public func entry(_ key: String) -> Entry? { entries.first { $0.key == key } }

  /// `connector.class`, if given.
  public var connectorClass: String? { self["connector.class"] }

  /// The pairs as a dictionary (order lost), for JSON responses.
  public var dictionary: [String: String] {
    Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
  }

  public var description: String {
    "{" + entries.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "}"
  }

  // MARK: - YAML

  /// The YAML form Sluice keeps in `connectors_dir`: `name: X`, then `config:` with every value
  /// as a double-quoted string, keys in this config's order. Reading the text back
  /// (``ConnectConfigFile/parse(text:file:)``) gives an equal config.
  public func yamlText(name: String) -> String {
    var out = "name: \(Self.quoted(name))\nconfig:\n"
    for entry in entries {
      out += "  \(Self.quoted(entry.key)): \(Self.quoted(entry.value))\n"
    }
    return out
  }

  /// `text` as a YAML double-quoted scalar: backslash, quote and every character YAML would not
  /// keep as is (controls, line separators, BOM) escaped.
  static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "\r": out += "\\r"
      default:
        let v = scalar.value
        if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF {
          let hex = String(v, radix: 16, uppercase: true)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
