/// Kafka Connect's answer to `PUT /connector-plugins/{plugin}/config/validate`: every key the
/// plugin defines with the value given for it and that value's errors.
public struct ConfigInfos: Sendable, Encodable, Equatable {
  /// One key: its definition and its value.
  public struct ConfigInfo: Sendable, Encodable, Equatable {
    public var definition: ConfigKeyInfo
    public var value: ConfigValueInfo
  }

  public var name: String
  public var errorCount: Int
  public var groups: [String]
  public var configs: [ConfigInfo]

  enum CodingKeys: String, CodingKey {
    case name, groups, configs
    case errorCount = "error_count"
  }

  /// The errors of `key`, empty when it has none.
  public func errors(of key: String) -> [String] {
    configs.first { $0.value.name == key }?.value.errors ?? []
  }
}

/// Kafka's `ConfigValueInfo`: a key's value (redacted when it is a secret) and its errors.
public struct ConfigValueInfo: Sendable, Encodable, Equatable {
  public var name: String
  public var value: String?
  public var recommendedValues: [String]
  public var errors: [String]
  public var visible: Bool

  enum CodingKeys: String, CodingKey {
    case name, value, errors, visible
    case recommendedValues = "recommended_values"
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(value, forKey: .value)
    try c.encode(recommendedValues, forKey: .recommendedValues)
    try c.encode(errors, forKey: .errors)
    try c.encode(visible, forKey: .visible)
  }
}
