extension JSONValue {
  /// The JSON document `bytes` hold, members in order, or nil when they are not exactly one
  /// valid JSON value (RFC 8259).
  public static func parse(_ bytes: [UInt8]) -> JSONValue? {
    guard JSONValidator.isValid(bytes) else { return nil }
    var start = 0
    var end = bytes.count
    while start < end, isSpace(bytes[start]) { start += 1 }
    while end > start, isSpace(bytes[end - 1]) { end -= 1 }
    return value(bytes, start..<end)
  }

  /// The value in `range`, which is exactly one valid JSON value (the validator said so).
  private static func value(_ bytes: [UInt8], _ range: Range<Int>) -> JSONValue? {
    guard let first = range.first.map({ bytes[$0] }) else { return nil }
    switch JSONObjectReader.kind(of: first) {
    case .object:
      guard let members = JSONObjectReader.members(of: bytes, in: range) else { return nil }
      var object = JSONObject()
      object.members.reserveCapacity(members.count)
      for member in members {
        guard let v = value(bytes, member.value) else { return nil }
        object.members.append((key: member.name, value: v))
      }
      return .object(object)
    case .array:
      guard let elements = JSONObjectReader.elements(of: bytes, in: range) else { return nil }
      var values: [JSONValue] = []
      values.reserveCapacity(elements.count)
      for element in elements {
        guard let v = value(bytes, element.value) else { return nil }
        values.append(v)
      }
      return .array(values)
    case .string:
      return JSONObjectReader.string(bytes, range).map(JSONValue.string)
    case .bool:
      return .bool(first == UInt8(ascii: "t"))
    case .null:
      return .null
    case .number:
      let text = String(decoding: bytes[range], as: UTF8.self)
      // Integers that fit stay exact; the rest (fractions, exponents, huge ones) are doubles.
      if let n = Int64(text) { return .int(n) }
      return Double(text).map(JSONValue.double)
    }
  }

  private static func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
  }

  /// The value as UTF-8 JSON bytes.
  public var jsonBytes: [UInt8] {
    var out = JSONWriter()
    write(to: &out)
    return out.bytes
  }
}
