/// A cursor over JSON bytes (RFC 8259) that steps over one value at a time without building it;
/// ``JSONValidator`` and ``JSONObjectReader`` both walk JSON with it.
struct JSONScanner {
  let bytes: UnsafeBufferPointer<UInt8>
  var index = 0

  init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  var current: UInt8? { index < bytes.count ? bytes[index] : nil }

  mutating func skipWhitespace() {
    while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { index += 1 }
  }

  mutating func value(depth: Int) -> Bool {
    guard depth < 512, let c = current else { return false }
    switch c {
    case UInt8(ascii: "{"): return object(depth: depth)
    case UInt8(ascii: "["): return array(depth: depth)
    case UInt8(ascii: "\""): return string()
    case UInt8(ascii: "t"): return literal("true")
    case UInt8(ascii: "f"): return literal("false")
    case UInt8(ascii: "n"): return literal("null")
    default: return number()
    }
  }

  mutating func literal(_ word: String) -> Bool {
    let expected = word.utf8
    guard index + expected.count <= bytes.count else { return false }
    for (i, byte) in expected.enumerated() where bytes[index + i] != byte { return false }
    index += expected.count
    return true
  }

  mutating func object(depth: Int) -> Bool {
    index += 1
    skipWhitespace()
    if current == UInt8(ascii: "}") {
      index += 1
      return true
    }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\""), string() else { return false }
      skipWhitespace()
      guard current == UInt8(ascii: ":") else { return false }
      index += 1
      skipWhitespace()
      guard value(depth: depth + 1) else { return false }
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        index += 1
      } else if current == UInt8(ascii: "}") {
        index += 1
        return true
      } else {
        return false
      }
    }
  }

  mutating func array(depth: Int) -> Bool {
    index += 1
    skipWhitespace()
    if current == UInt8(ascii: "]") {
      index += 1
      return true
    }
    while true {
      skipWhitespace()
      guard value(depth: depth + 1) else { return false }
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        index += 1
      } else if current == UInt8(ascii: "]") {
        index += 1
        return true
      } else {
        return false
      }
    }
  }

  mutating func string() -> Bool {
    index += 1
    while true {
      skipPlainStringBytes()
      guard let c = current else { return false }
      index += 1
      switch c {
      case UInt8(ascii: "\""): return true
      case UInt8(ascii: "\\"):
        guard let e = current else { return false }
        index += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
          UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
          continue
        case UInt8(ascii: "u"):
          for _ in 0..<4 {
            guard let h = current, isHexDigit(h) else { return false }
            index += 1
          }
        default: return false
        }
      case 0..<0x20: return false
      default: continue
      }
    }
  }

  /// Skips string bytes eight at a time while none is a quote, a backslash or a control
  /// character — most of a record's text — leaving the rest to ``string()``'s byte loop.
  private mutating func skipPlainStringBytes() {
    guard let base = bytes.baseAddress else { return }
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    while index + 8 <= bytes.count {
      let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
      let quote = word ^ (ones &* 0x22)
      let backslash = word ^ (ones &* 0x5C)
      // A byte is zero in `quote` or `backslash`, or below 0x20 in `word`.
      let special =
        ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
        | ((word &- ones &* 0x20) & ~word)
      if special & highs != 0 { return }
      index += 8
    }
  }

  mutating func number() -> Bool {
    if current == UInt8(ascii: "-") { index += 1 }
    guard let first = current, isDigit(first) else { return false }
    index += 1
    if first != UInt8(ascii: "0") { while let c = current, isDigit(c) { index += 1 } }
    if current == UInt8(ascii: ".") {
      index += 1
      guard let c = current, isDigit(c) else { return false }
      while let c = current, isDigit(c) { index += 1 }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      index += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
      guard let c = current, isDigit(c) else { return false }
      while let c = current, isDigit(c) { index += 1 }
    }
    return true
  }

  func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
  func isHexDigit(_ c: UInt8) -> Bool {
    isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
  }
}
