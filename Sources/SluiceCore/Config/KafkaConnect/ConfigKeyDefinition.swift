/// One configuration key of a connector plugin, as Kafka's `ConfigDef.ConfigKey` describes it:
/// what `GET /connector-plugins/{plugin}/config` lists and what tools such as AKHQ build their
/// forms from. Sluice's connector types derive their allowed `config:` keys from these, so the
/// documentation and the validation cannot drift apart.
public struct ConfigKeyDefinition: Sendable, Equatable {
  /// Kafka's `ConfigDef.Type` names.
  public enum KeyType: String, Sendable, Codable {
    case boolean = "BOOLEAN"
    case int = "INT"
    case long = "LONG"
    case double = "DOUBLE"
    case string = "STRING"
    case list = "LIST"
    case password = "PASSWORD"
    case `class` = "CLASS"
  }

  /// Kafka's `ConfigDef.Importance`.
  public enum Importance: String, Sendable, Codable {
    case high = "HIGH"
    case medium = "MEDIUM"
    case low = "LOW"
  }

  /// How a key of a Sluice connector's nested `config:` appears in the flat form.
  public enum Shape: Sendable, Equatable {
    /// One scalar value.
    case value
    /// A list: JSON array text in the flat form (`["public.orders","public.customers"]`), or a
    /// comma-separated list; a single value without commas stays a single value.
    case list
    /// A mapping with names of the user's choosing (`headers`): one flat key per name,
    /// `headers.X-Source`; `headers` itself may hold the whole mapping as a JSON object.
    case mapping
  }

  public var name: String
  public var type: KeyType
  public var required: Bool
  /// The default as Kafka shows it (text), nil when there is none.
  public var defaultValue: String?
  public var importance: Importance
  public var documentation: String
  public var group: String
  /// 1-based position within `group`; ``ConnectorPlugin`` numbers them when left 0.
  public var orderInGroup: Int
  public var displayName: String
  /// The values a key takes when it is one of a few words (shown as `recommended_values`).
  public var allowedValues: [String]
  public var shape: Shape
  /// A secret however it is typed (a header or URL that may carry one): shown as `[hidden]`.
  public var isSecret: Bool

  public init(
    _ name: String, _ type: KeyType, required: Bool = false, default defaultValue: String? = nil,
    importance: Importance = .medium, group: String, displayName: String? = nil,
    allowed allowedValues: [String] = [], shape: Shape = .value, secret: Bool = false,
    _ documentation: String
  ) {
    self.name = name
    self.type = type
    self.required = required
    self.defaultValue = defaultValue
    self.importance = importance
    self.documentation = documentation
    self.group = group
    self.orderInGroup = 0
    self.displayName = displayName ?? Self.displayName(for: name)
    self.allowedValues = allowedValues
    self.shape = shape
    self.isSecret = secret || type == .password
  }

  /// `batch.max_records` → `Batch max records`.
  static func displayName(for name: String) -> String {
    let words = name.split(whereSeparator: { $0 == "." || $0 == "_" }).joined(separator: " ")
    return words.prefix(1).uppercased() + words.dropFirst()
  }

  /// Kafka's wire form of this key (`ConfigKeyInfo`).
  public var info: ConfigKeyInfo {
    ConfigKeyInfo(
      name: name, type: type.rawValue, required: required, defaultValue: defaultValue,
      importance: importance.rawValue, documentation: documentation, group: group,
      orderInGroup: orderInGroup, width: "NONE", displayName: displayName, dependents: [])
  }

  /// Whether `key` of a flat config belongs to this definition: the name itself, or, for a
  /// ``Shape/mapping``, one of its entries (`headers.X-Source`).
  func covers(_ key: String) -> Bool {
    key == name || (shape == .mapping && key.hasPrefix(name + ".") && key.count > name.count + 1)
  }
}

extension Array where Element == ConfigKeyDefinition {
  /// The top-level `config:` keys these definitions allow (`batch.max_records` → `batch`).
  public var topLevelKeys: [String] { keys(under: nil) }

  /// The keys directly under `prefix` (`keys(under: "batch")` → `max_records`, …), in order.
  public func keys(under prefix: String?) -> [String] {
    var out: [String] = []
    for definition in self {
      var rest = Substring(definition.name)
      if let prefix {
        guard rest.hasPrefix(prefix + ".") else { continue }
        rest = rest.dropFirst(prefix.count + 1)
      }
      let first = String(rest.split(separator: ".", maxSplits: 1).first ?? rest)
      if !out.contains(first) { out.append(first) }
    }
    return out
  }

  /// Whether a flat config may have `key`: a definition covers it, or it names a group of them
  /// (`batch`, given as one JSON object).
  public func knows(_ key: String) -> Bool {
    definition(for: key) != nil || contains { $0.name.hasPrefix(key + ".") }
  }

  /// The definition that covers `key`, if any.
  public func definition(for key: String) -> ConfigKeyDefinition? {
    first { $0.covers(key) }
  }
}

/// Kafka's `ConfigKeyInfo`, as `GET /connector-plugins/{plugin}/config` and the `definition` of a
/// validation answer show it.
public struct ConfigKeyInfo: Sendable, Codable, Equatable {
  public var name: String
  public var type: String
  public var required: Bool
  public var defaultValue: String?
  public var importance: String
  public var documentation: String
  public var group: String?
  public var orderInGroup: Int
  public var width: String
  public var displayName: String
  public var dependents: [String]

  enum CodingKeys: String, CodingKey {
    case name, type, required, importance, documentation, group, width, dependents
    case defaultValue = "default_value"
    case orderInGroup = "order"
    case displayName = "display_name"
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(type, forKey: .type)
    try c.encode(required, forKey: .required)
    // Kafka writes `"default_value": null` for a key without a default.
    try c.encode(defaultValue, forKey: .defaultValue)
    try c.encode(importance, forKey: .importance)
    try c.encode(documentation, forKey: .documentation)
    try c.encode(group, forKey: .group)
    try c.encode(orderInGroup, forKey: .orderInGroup)
    try c.encode(width, forKey: .width)
    try c.encode(displayName, forKey: .displayName)
    try c.encode(dependents, forKey: .dependents)
  }
}
