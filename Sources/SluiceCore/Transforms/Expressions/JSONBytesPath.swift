/// Reads one field of a JSON document from its bytes, without building the document: the
/// expression evaluator's way into a record that no transform has parsed yet, so a filter on
/// `value.op` leaves the record's bytes as they are (nothing to write back).
enum JSONBytesPath {
  /// Where a lookup ended.
  enum Found {
    /// A step was missing, or led into something that is not an object or array.
    case missing
    /// The value's byte range in the document.
    case range(Range<Int>)
  }

  /// A document's top-level members, located by the one pass that also checks that the whole
  /// document is JSON: an expression that reads several fields scans the record once, then only
  /// inside the members it reads.
  enum Document {
    /// An object: each member's name token (quotes included) and value, as byte ranges.
    case object([(name: Range<Int>, value: Range<Int>)])
    /// Valid JSON that is not an object (a string, a number, an array…).
    case other
  }

  /// The document `bytes` hold; nil when they are not JSON.
  static func document(_ bytes: [UInt8]) -> Document? {
    bytes.withUnsafeBufferPointer { buffer -> Document? in
      var scanner = JSONScanner(bytes: buffer)
      scanner.skipWhitespace()
      guard scanner.current == UInt8(ascii: "{") else {
        return JSONValidator.isValid(bytes) ? .other : nil
      }
      var members: [(name: Range<Int>, value: Range<Int>)] = []
      members.reserveCapacity(8)
      scanner.index += 1
      scanner.skipWhitespace()
      if scanner.current == UInt8(ascii: "}") {
        scanner.index += 1
      } else {
        while true {
          scanner.skipWhitespace()
          let nameStart = scanner.index
          guard scanner.current == UInt8(ascii: "\""), scanner.string() else { return nil }
          let name = nameStart..<scanner.index
          scanner.skipWhitespace()
          guard scanner.current == UInt8(ascii: ":") else { return nil }
          scanner.index += 1
          scanner.skipWhitespace()
          let valueStart = scanner.index
          guard scanner.value(depth: 1) else { return nil }
          members.append((name, valueStart..<scanner.index))
          scanner.skipWhitespace()
          if scanner.current == UInt8(ascii: ",") {
            scanner.index += 1
          } else if scanner.current == UInt8(ascii: "}") {
            scanner.index += 1
            break
          } else {
            return nil
          }
        }
      }
      scanner.skipWhitespace()
      return scanner.index == buffer.count ? .object(members) : nil
    }
  }

  /// Follows `steps` (member names and array indexes) in `bytes`, which ``document(_:)`` found
  /// to be `document`: the first name from its members, the rest by scanning that member.
  static func find(_ steps: [Step], in bytes: [UInt8], _ document: Document) -> Found {
    guard case .object(let members) = document, case .name(_, let first)? = steps.first else {
      return find(steps[...], in: bytes, from: 0)
    }
    let found = bytes.withUnsafeBufferPointer { buffer -> Range<Int>? in
      // The first of equal names, as a parsed JSONObject's lookup finds.
      for member in members
      where sameName(UnsafeBufferPointer(rebasing: buffer[member.name]), first) {
        return member.value
      }
      return nil
    }
    guard let found else { return .missing }
    if steps.count == 1 { return .range(found) }
    return find(steps.dropFirst(), in: bytes, from: found.lowerBound)
  }

  /// Follows `steps` from the value that starts at `start`. `bytes` must be valid JSON: the
  /// scan trusts it.
  static func find(_ steps: ArraySlice<Step>, in bytes: [UInt8], from start: Int) -> Found {
    bytes.withUnsafeBufferPointer { buffer -> Found in
      var scanner = JSONScanner(bytes: buffer)
      scanner.index = start
      scanner.skipWhitespace()
      for step in steps {
        switch step {
        case .name(_, let name):
          guard scanner.current == UInt8(ascii: "{"), member(name, &scanner) else {
            return .missing
          }
        case .index(let index):
          guard scanner.current == UInt8(ascii: "["), element(index, &scanner) else {
            return .missing
          }
        }
      }
      let start = scanner.index
      guard scanner.value(depth: 0) else { return .missing }
      return .range(start..<scanner.index)
    }
  }

  /// One step: a member's name (and its UTF-8 bytes), or an array index.
  enum Step: Sendable {
    case name(String, [UInt8])
    case index(Int)
  }

  /// Moves the scanner from an object's `{` to the value of member `name`; false when absent.
  private static func member(_ name: [UInt8], _ scanner: inout JSONScanner) -> Bool {
    scanner.index += 1
    while true {
      scanner.skipWhitespace()
      guard scanner.current == UInt8(ascii: "\"") else { return false }
      let start = scanner.index
      guard scanner.string() else { return false }
      let token = UnsafeBufferPointer(rebasing: scanner.bytes[start..<scanner.index])
      let found = sameName(token, name)
      scanner.skipWhitespace()
      guard scanner.current == UInt8(ascii: ":") else { return false }
      scanner.index += 1
      scanner.skipWhitespace()
      if found { return true }
      guard scanner.value(depth: 1) else { return false }
      scanner.skipWhitespace()
      guard scanner.current == UInt8(ascii: ",") else { return false }
      scanner.index += 1
    }
  }

  /// Whether the object at `object` of `bytes` (valid JSON) has a member named one of `names`:
  /// one pass over its members.
  static func hasMember(namedAnyOf names: [[UInt8]], in bytes: [UInt8], object: Range<Int>)
    -> Bool
  {
    bytes.withUnsafeBufferPointer { buffer in
      var scanner = JSONScanner(bytes: buffer)
      scanner.index = object.lowerBound + 1
      while true {
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: "\"") else { return false }
        let start = scanner.index
        guard scanner.string() else { return false }
        let token = UnsafeBufferPointer(rebasing: buffer[start..<scanner.index])
        if names.contains(where: { sameName(token, $0) }) { return true }
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: ":") else { return false }
        scanner.index += 1
        scanner.skipWhitespace()
        guard scanner.value(depth: 1) else { return false }
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: ",") else { return false }
        scanner.index += 1
      }
    }
  }

  /// Moves the scanner from an array's `[` to element `index`; false when there are fewer.
  private static func element(_ index: Int, _ scanner: inout JSONScanner) -> Bool {
    scanner.index += 1
    scanner.skipWhitespace()
    guard scanner.current != UInt8(ascii: "]") else { return false }
    var i = 0
    while true {
      scanner.skipWhitespace()
      if i == index { return true }
      guard scanner.value(depth: 1) else { return false }
      scanner.skipWhitespace()
      guard scanner.current == UInt8(ascii: ",") else { return false }
      scanner.index += 1
      i += 1
    }
  }

  /// Whether the string token (quotes included) spells `name`; escapes are decoded first.
  static func sameName(_ token: UnsafeBufferPointer<UInt8>, _ name: [UInt8]) -> Bool {
    let inner = UnsafeBufferPointer(rebasing: token[1..<(token.count - 1)])
    if !inner.contains(UInt8(ascii: "\\")) {
      return inner.count == name.count && inner.elementsEqual(name)
    }
    guard let decoded = JSONObjectReader.decodeString(token, 0..<token.count) else { return false }
    return decoded.utf8.elementsEqual(name)
  }

  /// The value in `range` of `bytes`: scalars read in place, objects and arrays parsed.
  static func value(_ bytes: [UInt8], _ range: Range<Int>) -> JSONValue {
    guard let first = range.first.map({ bytes[$0] }) else { return .null }
    switch JSONObjectReader.kind(of: first) {
    case .string: return JSONObjectReader.string(bytes, range).map(JSONValue.string) ?? .null
    case .bool: return .bool(first == UInt8(ascii: "t"))
    case .null: return .null
    case .number:
      let text = String(decoding: bytes[range], as: UTF8.self)
      if let n = Int64(text) { return .int(n) }
      return Double(text).map(JSONValue.double) ?? .null
    case .object, .array: return JSONValue.parse(Array(bytes[range])) ?? .null
    }
  }
}
