/// Any JSON value: bodies whose shape a connector defines (KIP-875 offsets), and records'
/// keys and values as transforms see them.
///
/// Integers stay ``int(_:)`` (`Int64`), never `Double`, so a PostgreSQL LSN or a byte offset
/// past 2^53 comes back exactly as it went in; objects keep their members' order
/// (``JSONObject``), so a record written back has its fields where they were.
public enum JSONValue: Sendable, Codable, Equatable, Hashable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

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
      // Codable does not say in which order an object's keys came: name order.
      self = .object(JSONObject(value))
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
    case .object(let value): try container.encode(value.dictionary)
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

  /// The text of a string, anything else as JSON: for header and topic text, and for showing.
  public var plainText: String {
    if case .string(let text) = self { text } else { jsonText }
  }

  /// The elements of an ``array(_:)``.
  public var array: [JSONValue]? {
    if case .array(let values) = self { values } else { nil }
  }

  /// The members of an ``object(_:)``.
  public var object: JSONObject? {
    if case .object(let object) = self { object } else { nil }
  }

  /// The member `key` of an object; nil when there is none or this is not an object.
  public subscript(key: String) -> JSONValue? {
    if case .object(let object) = self { object[key] } else { nil }
  }

  /// The value as JSON text (`"abc"`, `12`, `{"a":1}`), members in their order.
  public var jsonText: String {
    var out = JSONWriter()
    write(to: &out)
    return out.text
  }

  /// Appends the value's JSON text.
  public func write(to out: inout JSONWriter) {
    switch self {
    case .null: out.null()
    case .bool(let value): out.bool(value)
    case .int(let value): out.number(value)
    // JSON has no NaN or infinities; a transform that makes one writes null.
    case .double(let value): out.number(value)
    case .string(let value): out.string(value)
    case .array(let values):
      out.byte("[")
      for (i, value) in values.enumerated() {
        if i > 0 { out.byte(",") }
        value.write(to: &out)
      }
      out.byte("]")
    case .object(let object):
      out.byte("{")
      for (i, member) in object.members.enumerated() {
        if i > 0 { out.byte(",") }
        out.key(member.key)
        member.value.write(to: &out)
      }
      out.byte("}")
    }
  }
}

/// A JSON object's members in their order; looked up by name (objects in records are small).
public struct JSONObject: Sendable, Equatable, Hashable, ExpressibleByDictionaryLiteral {
  public var members: [(key: String, value: JSONValue)]

  public init(members: [(key: String, value: JSONValue)] = []) { self.members = members }

  /// The dictionary's members in name order.
  public init(_ dictionary: [String: JSONValue]) {
    members = dictionary.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
  }

  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    members = elements.map { (key: $0.0, value: $0.1) }
  }

  /// The member's value; setting nil removes it, setting a new name appends it.
  public subscript(key: String) -> JSONValue? {
    get { members.first { $0.key == key }?.value }
    set {
      if let index = members.firstIndex(where: { $0.key == key }) {
        if let newValue { members[index].value = newValue } else { members.remove(at: index) }
      } else if let newValue {
        members.append((key: key, value: newValue))
      }
    }
  }

  public var keys: [String] { members.map(\.key) }
  public var isEmpty: Bool { members.isEmpty }
  public var dictionary: [String: JSONValue] {
    Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
  }

  public static func == (a: JSONObject, b: JSONObject) -> Bool {
    a.members.count == b.members.count
      && zip(a.members, b.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
  }

  public func hash(into hasher: inout Hasher) {
    for member in members {
      hasher.combine(member.key)
      hasher.combine(member.value)
    }
  }
}
