import SluiceCore

/// RFC 6901 JSON pointers into a payload's bytes, for keys and topic names, read in place with
/// ``JSONObjectReader`` rather than by decoding the whole document (sensor feeds are many small
/// messages).
enum PayloadPointer {
  /// The text at `pointer` in `payload`: a string's contents, other values as their JSON text;
  /// nil when the pointer leads nowhere or to null.
  static func text(_ pointer: String, in payload: [UInt8]) -> String? {
    var range = 0..<payload.count
    var kind: JSONMember.Kind? = firstKind(payload, range)
    guard kind != nil else { return nil }
    if !pointer.isEmpty {
      guard pointer.hasPrefix("/") else { return nil }
      for raw in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
        let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(
          of: "~0", with: "~")
        switch kind {
        case .object:
          var found: (Range<Int>, JSONMember.Kind)?
          guard
            JSONObjectReader.visitMembers(
              of: payload, in: range,
              { name, value, kind in if found == nil && name == token { found = (value, kind) } })
          else { return nil }
          guard let found else { return nil }
          (range, kind) = (found.0, found.1)
        case .array:
          guard let index = Int(token), index >= 0,
            let elements = JSONObjectReader.elements(of: payload, in: range), index < elements.count
          else { return nil }
          (range, kind) = (elements[index].value, elements[index].kind)
        default:
          return nil
        }
      }
    }
    // The empty pointer's range is the whole payload, whitespace around the value included.
    var trimmed = range
    while let last = trimmed.last,
      payload[last] == 0x20 || payload[last] == 0x0A
        || payload[last] == 0x0D || payload[last] == 0x09
    {
      trimmed = trimmed.lowerBound..<last
    }
    while let first = trimmed.first,
      payload[first] == 0x20 || payload[first] == 0x0A
        || payload[first] == 0x0D || payload[first] == 0x09
    {
      trimmed = (first + 1)..<trimmed.upperBound
    }
    switch kind {
    case .null, nil: return nil
    case .string: return JSONObjectReader.string(payload, trimmed)
    default: return String(decoding: payload[trimmed], as: UTF8.self)
    }
  }

  private static func firstKind(_ bytes: [UInt8], _ range: Range<Int>) -> JSONMember.Kind? {
    guard
      let first = bytes[range].first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
      )
    else { return nil }
    return JSONObjectReader.kind(of: first)
  }
}
