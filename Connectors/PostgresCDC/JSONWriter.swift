/// Builds JSON text straight into bytes: the change events are written field by field in
/// Debezium's order, which `JSONSerialization` would neither keep nor do as fast.
///
/// It is the inner loop of the CDC source, so text without characters to escape is copied in
/// runs, and numbers are written as digits without going through `String`.
struct JSONWriter {
  var bytes: [UInt8] = []

  init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

  /// Literal JSON text (punctuation, field names), copied without escaping.
  mutating func raw(_ text: StaticString) {
    text.withUTF8Buffer { bytes.append(contentsOf: $0) }
  }
  mutating func raw<C: Collection<UInt8>>(_ text: C) { bytes.append(contentsOf: text) }
  mutating func byte(_ c: Unicode.Scalar) { bytes.append(UInt8(ascii: c)) }

  /// `"name":`
  mutating func key(_ name: String) {
    string(name)
    bytes.append(UInt8(ascii: ":"))
  }

  mutating func string(_ text: String) {
    var text = text
    text.withUTF8 { string(utf8: $0) }
  }

  /// A JSON string of UTF-8 text, escaped as RFC 8259 requires.
  mutating func string<C: Collection<UInt8>>(utf8 text: C) {
    bytes.append(UInt8(ascii: "\""))
    stringContent(utf8: text)
    bytes.append(UInt8(ascii: "\""))
  }

  /// The inside of a JSON string, escaped, without the quotes: for a string written in parts.
  mutating func stringContent<C: Collection<UInt8>>(utf8 text: C) {
    let done: Void? = text.withContiguousStorageIfAvailable { escape($0) }
    if done == nil { escape(Array(text)[...]) }
  }

  private mutating func escape(_ text: UnsafeBufferPointer<UInt8>) {
    var runStart = 0
    var i = 0
    while i < text.count {
      let c = text[i]
      if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") {
        i += 1
        continue
      }
      if runStart < i {
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart..<i]))
      }
      appendEscaped(c)
      i += 1
      runStart = i
    }
    if runStart < text.count {
      bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart..<text.count]))
    }
  }

  private mutating func escape(_ text: ArraySlice<UInt8>) {
    text.withUnsafeBufferPointer { escape($0) }
  }

  private mutating func appendEscaped(_ c: UInt8) {
    bytes.append(UInt8(ascii: "\\"))
    switch c {
    case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
    case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
    case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "n"))
    case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "r"))
    case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "t"))
    default:
      let hex = Self.hexDigits
      bytes.append(UInt8(ascii: "u"))
      bytes.append(UInt8(ascii: "0"))
      bytes.append(UInt8(ascii: "0"))
      bytes.append(hex[Int(c >> 4)])
      bytes.append(hex[Int(c & 15)])
    }
  }

  private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  mutating func null() { raw("null") }

  /// A decimal number, as `"\(value)"` would print it.
  mutating func number(_ value: Int64) {
    if value < 0 {
      bytes.append(UInt8(ascii: "-"))
      number(UInt64(0) &- UInt64(bitPattern: value))
    } else {
      number(UInt64(value))
    }
  }

  /// A decimal number, as `"\(value)"` would print it.
  mutating func number(_ value: UInt64) {
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
    var count = 0
    withUnsafeMutableBytes(of: &digits) { buffer in
      var rest = value
      repeat {
        count += 1
        buffer[24 - count] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
        rest /= 10
      } while rest > 0
      bytes.append(
        contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(24 - count)...]))
    }
  }
}
