/// RFC 6901 JSON pointers into a parsed document (``JSONValue/parse(_:)``), giving text for
/// keys, topic names and URLs.
public enum JSONPointer {
  /// The text of what `pointer` points at: a string as it is, null (or nothing there) as nil,
  /// any other value as JSON with object members in name order and whole doubles as integers
  /// (`1.0` as `1`), the form these texts had when they came from `JSONSerialization`.
  public static func text(_ pointer: String, in document: JSONValue?) -> String? {
    guard var current = document else { return nil }
    if pointer.isEmpty { return describe(current) }
    for raw in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
      let token = String(raw).replacing("~1", with: "/").replacing("~0", with: "~")
      switch current {
      case .object(let object):
        guard let next = object[token] else { return nil }
        current = next
      case .array(let array):
        guard let index = Int(token), index >= 0, index < array.count else { return nil }
        current = array[index]
      default:
        return nil
      }
    }
    return describe(current)
  }

  private static func describe(_ value: JSONValue) -> String? {
    switch value {
    case .null: return nil
    case .string(let text): return text
    default: return canonical(value).jsonText
    }
  }

  /// Members sorted by name, doubles without a fraction as integers, all the way down.
  private static func canonical(_ value: JSONValue) -> JSONValue {
    switch value {
    case .double(let number):
      return value.integer.map(JSONValue.int) ?? .double(number)
    case .array(let values): return .array(values.map(canonical))
    case .object(let object):
      return .object(
        JSONObject(
          members: object.members.sorted { $0.key < $1.key }.map {
            (key: $0.key, value: canonical($0.value))
          }))
    default: return value
    }
  }
}
