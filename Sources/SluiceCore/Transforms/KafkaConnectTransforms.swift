/// Kafka Connect's single message transforms (`org.apache.kafka.connect.transforms`), by their
/// class names and Sluice's snake_case names, with Kafka's options and their schemaless-JSON
/// behaviour (`Transforms/KafkaConnect/`).
extension TransformCatalog {
  static let kafkaConnect: [TransformType] = [
    InsertField.type, ReplaceField.type, MaskField.type, ValueToKey.type, ExtractField.type,
    HoistField.type, Flatten.type, Cast.type, TimestampConverter.type, HeaderFrom.type,
    InsertHeader.type, DropHeaders.type, TimestampRouter.type,
  ]

  /// Kafka Connect's class name for `simple` (`org.apache.kafka.connect.transforms.<simple>`).
  static func kafkaName(_ simple: String) -> String {
    "org.apache.kafka.connect.transforms.\(simple)"
  }
}

// MARK: - What the Kafka Connect transforms share

extension TransformOptions {
  /// `field.syntax.version` (KIP-821): V1, the default, takes a name as one top-level field;
  /// V2 reads dotted paths with backtick quoting.
  func fieldSyntaxV2() throws(ConfigError) -> Bool {
    try oneOf("field.syntax.version", ["V1", "V2"], default: "V1") == "V2"
  }

  /// The field `text` names under `key`, by the syntax version asked for.
  func fieldPath(_ key: String, _ text: String, v2: Bool) throws(ConfigError) -> FieldPath {
    guard let path = FieldPath(text, v2: v2) else {
      throw error(key, "'\(text)' is not a field path (V2: names between dots, backticks paired)")
    }
    return path
  }

  /// Kafka's `replace.null.with.default`: accepted for configs written for Kafka Connect; it is
  /// about schemas' default values, and schemaless JSON has none.
  func checkReplaceNullWithDefault() throws(ConfigError) {
    _ = try bool("replace.null.with.default", default: true)
  }

  /// The transform's name in errors: its Kafka name with the side (`InsertField$Value`).
  func sided(_ simple: String) -> String {
    "\(simple)$\(side == .key ? "Key" : "Value")"
  }
}

extension JSONValue {
  /// What a record error calls this kind of value.
  var kindName: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .int: "an integer"
    case .double: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }

  /// The bytes of a header made from this value: a string as its text (as Kafka's
  /// SimpleHeaderConverter writes it), anything else as JSON, null as no bytes.
  var headerBytes: [UInt8]? {
    switch self {
    case .null: nil
    case .string(let text): Array(text.utf8)
    default: jsonBytes
    }
  }
}

/// The JSON object a transform works on, or the record error Kafka raises for schemaless data
/// that is not a map (`Only Map objects supported in absence of schema for [purpose]`).
func requireObject(_ value: JSONValue, _ side: RecordSide, for purpose: String)
  throws(TransformError)
  -> JSONObject
{
  guard case .object(let object) = value else {
    throw TransformError(
      "\(purpose) needs the record's \(side.rawValue) to be a JSON object, got \(value.kindName)")
  }
  return object
}
