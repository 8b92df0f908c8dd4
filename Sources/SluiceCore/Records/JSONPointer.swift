import Foundation

/// RFC 6901 JSON pointers into a decoded document, giving text for keys and topic names.
public enum JSONPointer {
  public static func text(_ pointer: String, in document: Any?) -> String? {
    guard var current = document else { return nil }
    if pointer.isEmpty { return describe(current) }
    for raw in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
      let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(
        of: "~0", with: "~")
      if let object = current as? [String: Any], let next = object[token] {
        current = next
      } else if let array = current as? [Any], let index = Int(token), index >= 0,
        index < array.count
      {
        current = array[index]
      } else {
        return nil
      }
    }
    return describe(current)
  }

  private static func describe(_ value: Any) -> String? {
    switch value {
    case is NSNull: return nil
    case let text as String: return text
    default:
      guard
        let data = try? JSONSerialization.data(
          withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])
      else { return nil }
      return String(decoding: data, as: UTF8.self)
    }
  }
}
