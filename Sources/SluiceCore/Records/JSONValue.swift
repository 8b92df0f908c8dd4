/// Any JSON value, for bodies whose shape a connector defines (KIP-875 offsets).
///
/// Integers stay ``int(_:)`` (`Int64`), never `Double`, so a PostgreSQL LSN or a byte offset
/// past 2^53 comes back exactly as it went in.
public enum JSONValue: Sendable, Codable, Equatable, Hashable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int64.self) {
      self = .int(value)
    } else if let value = try? container.decode(Double.self) {
      self = .double(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else if let value = try? container.decode([String: JSONValue].self) {
      self = .object(value)
    } else {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "not a JSON value")
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .null: try container.encodeNil()
    case .bool(let value): try container.encode(value)
    case .int(let value): try container.encode(value)
    case .double(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .array(let value): try container.encode(value)
    case .object(let value): try container.encode(value)
    }
  }

  /// The integer this value holds: an ``int(_:)``, or a ``double(_:)`` without a fraction.
  public var integer: Int64? {
    switch self {
    case .int(let value): value
    case .double(let value) where value.rounded() == value && abs(value) < 0x1p63: Int64(value)
    default: nil
    }
  }

  /// The text of a ``string(_:)``.
  public var string: String? {
    if case .string(let value) = self { value } else { nil }
  }

  /// The value as JSON text, for messages (`"abc"`, `12`, `{"a":1}`).
  public var jsonText: String {
    switch self {
    case .null: return "null"
    case .bool(let value): return value ? "true" : "false"
    case .int(let value): return "\(value)"
    case .double(let value): return "\(value)"
    case .string(let value):
      var text = ""
      RecordJSON.appendQuoted(value, to: &text)
      return text
    case .array(let values): return "[" + values.map(\.jsonText).joined(separator: ",") + "]"
    case .object(let fields):
      return "{"
        + fields.sorted { $0.key < $1.key }.map { key, value in
          JSONValue.string(key).jsonText + ":" + value.jsonText
        }.joined(separator: ",") + "}"
    }
  }
}
