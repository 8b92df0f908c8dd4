#if canImport(Glibc)
  import Glibc
#endif

/// One member of a JSON object, located in place: its name decoded, its value as a byte range.
public struct JSONMember: Sendable, Equatable {
  /// What a JSON value is, read from its first byte.
  public enum Kind: Sendable, Equatable { case object, array, string, number, bool, null }

  public var name: String
  /// The value's bytes, quotes and brackets included, in the buffer the object was read from.
  public var value: Range<Int>
  public var kind: Kind
}

/// Reads the members of JSON objects without decoding their values.
///
/// Sinks that turn JSON records into rows (the PostgreSQL sink) read millions of small objects;
/// locating members in place and decoding only the strings they need keeps that off Foundation's
/// `JSONSerialization`, which builds a dictionary of boxed values for every record.
public enum JSONObjectReader {
  /// The members of the object in `range` of `bytes` (all of them when nil), in document order,
  /// or nil when that range is not exactly one valid JSON object.
  public static func members(of bytes: [UInt8], in range: Range<Int>? = nil) -> [JSONMember]? {
    var members: [JSONMember] = []
    guard
      visitMembers(
        of: bytes, in: range, { members.append(JSONMember(name: $0, value: $1, kind: $2)) })
    else { return nil }
    return members
  }

  /// Calls `visit` with each member's name, value range and kind, in document order, without
  /// collecting them; false when the range is not exactly one valid JSON object (`visit` may
  /// have seen some members by then).
  public static func visitMembers(
    of bytes: [UInt8], in range: Range<Int>? = nil, names: JSONNameCache? = nil,
    _ visit: (String, Range<Int>, JSONMember.Kind) -> Void
  ) -> Bool {
    let range = range ?? 0..<bytes.count
    return bytes.withUnsafeBufferPointer { whole -> Bool in
      let buffer = UnsafeBufferPointer(rebasing: whole[range])
      var scanner = JSONScanner(bytes: buffer)
      scanner.skipWhitespace()
      guard scanner.current == UInt8(ascii: "{") else { return false }
      scanner.index += 1
      scanner.skipWhitespace()
      if scanner.current == UInt8(ascii: "}") {
        scanner.index += 1
      } else {
        while true {
          scanner.skipWhitespace()
          let nameStart = scanner.index
          guard scanner.current == UInt8(ascii: "\""), scanner.string() else { return false }
          let nameRange = nameStart..<scanner.index
          scanner.skipWhitespace()
          guard scanner.current == UInt8(ascii: ":") else { return false }
          scanner.index += 1
          scanner.skipWhitespace()
          let valueStart = scanner.index
          guard let first = scanner.current, scanner.value(depth: 1) else { return false }
          guard
            let name = names?.name(UnsafeBufferPointer(rebasing: buffer[nameRange]))
              ?? decodeString(buffer, nameRange)
          else { return false }
          visit(
            name, (valueStart + range.lowerBound)..<(scanner.index + range.lowerBound),
            kind(of: first))
          scanner.skipWhitespace()
          if scanner.current == UInt8(ascii: ",") {
            scanner.index += 1
          } else if scanner.current == UInt8(ascii: "}") {
            scanner.index += 1
            break
          } else {
            return false
          }
        }
      }
      scanner.skipWhitespace()
      return scanner.index == buffer.count
    }
  }

  /// The text of the JSON string token (with its quotes) in `range` of `bytes`.
  public static func string(_ bytes: [UInt8], _ range: Range<Int>) -> String? {
    bytes.withUnsafeBufferPointer { decodeString($0, range) }
  }

  /// The elements of the JSON array in `range` of `bytes`, each as a byte range and kind.
  public static func elements(of bytes: [UInt8], in range: Range<Int>) -> [(
    value: Range<Int>, kind: JSONMember.Kind
  )]? {
    bytes.withUnsafeBufferPointer { whole in
      let buffer = UnsafeBufferPointer(rebasing: whole[range])
      var scanner = JSONScanner(bytes: buffer)
      scanner.skipWhitespace()
      guard scanner.current == UInt8(ascii: "[") else { return nil }
      scanner.index += 1
      var elements: [(value: Range<Int>, kind: JSONMember.Kind)] = []
      scanner.skipWhitespace()
      if scanner.current == UInt8(ascii: "]") { return elements }
      while true {
        scanner.skipWhitespace()
        let start = scanner.index
        guard let first = scanner.current, scanner.value(depth: 1) else { return nil }
        elements.append(
          ((start + range.lowerBound)..<(scanner.index + range.lowerBound), kind(of: first)))
        scanner.skipWhitespace()
        if scanner.current == UInt8(ascii: ",") {
          scanner.index += 1
        } else if scanner.current == UInt8(ascii: "]") {
          return elements
        } else {
          return nil
        }
      }
    }
  }

  /// The kind of the JSON value that starts with `first`.
  public static func kind(of first: UInt8) -> JSONMember.Kind {
    switch first {
    case UInt8(ascii: "{"): return .object
    case UInt8(ascii: "["): return .array
    case UInt8(ascii: "\""): return .string
    case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
    case UInt8(ascii: "n"): return .null
    default: return .number
    }
  }

  /// Decodes a string token already checked by ``JSONScanner``; fast when it has no escapes.
  static func decodeString(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String? {
    let inner = UnsafeBufferPointer(
      rebasing: buffer[(range.lowerBound + 1)..<(range.upperBound - 1)])
    guard inner.contains(UInt8(ascii: "\\")) else {
      return String(validating: inner, as: UTF8.self)
    }
    var out: [UInt8] = []
    out.reserveCapacity(inner.count)
    var i = 0
    func hex4(_ at: Int) -> UInt32? {
      guard at + 4 <= inner.count else { return nil }
      var v: UInt32 = 0
      for b in inner[at..<(at + 4)] {
        let d: UInt8
        switch b {
        case 0x30...0x39: d = b - 0x30
        case 0x41...0x46: d = b - 0x41 + 10
        case 0x61...0x66: d = b - 0x61 + 10
        default: return nil
        }
        v = v << 4 | UInt32(d)
      }
      return v
    }
    while i < inner.count {
      let c = inner[i]
      guard c == UInt8(ascii: "\\"), i + 1 < inner.count else {
        out.append(c)
        i += 1
        continue
      }
      let e = inner[i + 1]
      i += 2
      switch e {
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        guard var scalar = hex4(i) else { return nil }
        i += 4
        // A high surrogate followed by \uDC00–\uDFFF is one code point above U+FFFF.
        if (0xD800...0xDBFF).contains(scalar), i + 6 <= inner.count, inner[i] == 0x5C,
          inner[i + 1] == UInt8(ascii: "u"), let low = hex4(i + 2), (0xDC00...0xDFFF).contains(low)
        {
          scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          i += 6
        }
        let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        out.append(contentsOf: Array(String(character).utf8))
      default: out.append(e)
      }
    }
    return String(validating: out, as: UTF8.self)
  }
}

/// Member names seen lately, so that objects with the same fields (the records of one topic)
/// do not decode and validate the same few names again for every record.
public final class JSONNameCache {
  private var entries: [(token: [UInt8], name: String)] = []
  private var next = 0

  public init() {}

  /// The name for a string token (quotes included), decoded once and then reused.
  func name(_ token: UnsafeBufferPointer<UInt8>) -> String? {
    for entry in entries where entry.token.count == token.count {
      if entry.token.withUnsafeBufferPointer({
        memcmp($0.baseAddress!, token.baseAddress!, token.count) == 0
      }) {
        return entry.name
      }
    }
    guard let name = JSONObjectReader.decodeString(token, 0..<token.count) else { return nil }
    // A small ring: a topic's field names fit, and an odd record cannot grow it.
    if entries.count < 32 {
      entries.append((Array(token), name))
    } else {
      entries[next] = (Array(token), name)
      next = (next + 1) % entries.count
    }
    return name
  }
}
