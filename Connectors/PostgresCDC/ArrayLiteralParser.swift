/// Parses PostgreSQL's array output (`{1,2,NULL}`, `{"a b","c\"d"}`, `{{1,2},{3,4}}`,
/// `[0:1]={1,2}`); nil when the text is not such a literal.
struct ArrayLiteralParser {
  indirect enum Value: Equatable {
    case null
    case element([UInt8])
    case array([Value])
  }

  let bytes: [UInt8]
  var index = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  mutating func parse() -> Value? {
    // Explicit bounds (`[0:1]=`) come before the braces; the values are what matters.
    if bytes.first == UInt8(ascii: "["), let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
      index = equals + 1
    }
    guard let value = parseArray(), index == bytes.count else { return nil }
    return value
  }

  private mutating func parseArray() -> Value? {
    guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
    index += 1
    var items: [Value] = []
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return .array(items)
    }
    while index < bytes.count {
      if bytes[index] == UInt8(ascii: "{") {
        guard let nested = parseArray() else { return nil }
        items.append(nested)
      } else if bytes[index] == UInt8(ascii: "\"") {
        index += 1
        var text: [UInt8] = []
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
          if bytes[index] == UInt8(ascii: "\\") { index += 1 }
          guard index < bytes.count else { return nil }
          text.append(bytes[index])
          index += 1
        }
        guard index < bytes.count else { return nil }
        index += 1
        items.append(.element(text))
      } else {
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: ","),
          bytes[index] != UInt8(ascii: "}")
        {
          index += 1
        }
        let text = Array(bytes[start..<index])
        items.append(text == Array("NULL".utf8) ? .null : .element(text))
      }
      guard index < bytes.count else { return nil }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
      } else if bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .array(items)
      } else {
        return nil
      }
    }
    return nil
  }
}
