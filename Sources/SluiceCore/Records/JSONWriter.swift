/// Builds JSON text straight into bytes: the change events are written field by field in
/// Debezium's order, which `JSONSerialization` would neither keep nor do as fast.
///
/// It is the inner loop of the CDC source, so text without characters to escape is copied in
/// runs, and numbers are written as digits without going through `String`. It is Sluice's one
/// JSON writer: records (``RecordJSON``), ``JSONValue``, status records and API bodies are
/// written through it too, so there is one escaping of strings. Every member is `@inlinable`:
/// the CDC connector calls it about a million times a second from another module.
///
/// Strings are escaped as RFC 8259 requires and no further: `"` `\\` `\n` `\r` `\t` as
/// two-character escapes, other controls below U+0020 as `\u00xx` (lower-case hex), everything
/// else (`/`, non-ASCII) copied as UTF-8.
public struct JSONWriter {
  public var bytes: [UInt8] = []

  @inlinable
  public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

  /// What has been written, as text.
  @inlinable
  public var text: String { String(decoding: bytes, as: UTF8.self) }

  /// `text` as a JSON string literal, quotes included.
  @inlinable
  public static func quoted(_ text: String) -> String {
    var out = JSONWriter(capacity: text.utf8.count + 2)
    out.string(text)
    return out.text
  }

  /// Literal JSON text (punctuation, field names), copied without escaping.
  @inlinable
  public mutating func raw(_ text: StaticString) {
    text.withUTF8Buffer { bytes.append(contentsOf: $0) }
  }
  @inlinable
  public mutating func raw<C: Collection<UInt8>>(_ text: C) { bytes.append(contentsOf: text) }
  /// Bytes already rendered (field names, values cut from a message): copied from their
  /// storage, which, unlike the generic `append(contentsOf:)`, retains nothing per call.
  @inlinable
  public mutating func raw(_ text: [UInt8]) {
    text.withUnsafeBufferPointer { bytes.append(contentsOf: $0) }
  }
  @inlinable
  public mutating func raw(_ text: ArraySlice<UInt8>) {
    text.withUnsafeBufferPointer { bytes.append(contentsOf: $0) }
  }
  @inlinable
  public mutating func byte(_ c: Unicode.Scalar) { bytes.append(UInt8(ascii: c)) }

  /// `"name":`
  @inlinable
  public mutating func key(_ name: String) {
    string(name)
    bytes.append(UInt8(ascii: ":"))
  }

  @inlinable
  public mutating func string(_ text: String) {
    var text = text
    text.withUTF8 { string(utf8: $0) }
  }

  /// A JSON string of UTF-8 text, escaped as RFC 8259 requires.
  @inlinable
  public mutating func string<C: Collection<UInt8>>(utf8 text: C) {
    bytes.append(UInt8(ascii: "\""))
    stringContent(utf8: text)
    bytes.append(UInt8(ascii: "\""))
  }

  /// The inside of a JSON string, escaped, without the quotes: for a string written in parts.
  @inlinable
  public mutating func stringContent<C: Collection<UInt8>>(utf8 text: C) {
    let done: Void? = text.withContiguousStorageIfAvailable { escape($0) }
    if done == nil { escape(Array(text)[...]) }
  }

  @inlinable
  mutating func escape(_ text: UnsafeBufferPointer<UInt8>) {
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

  @inlinable
  mutating func escape(_ text: ArraySlice<UInt8>) {
    text.withUnsafeBufferPointer { escape($0) }
  }

  @inlinable
  mutating func appendEscaped(_ c: UInt8) {
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

  @usableFromInline
  static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  @inlinable
  public mutating func null() { raw("null") }

  /// A number as `"\(value)"` prints it (`1.5`, `2.0`, `1e+300`); JSON has no NaN or
  /// infinities, so those are written as null.
  @inlinable
  public mutating func number(_ value: Double) {
    if value.isFinite {
      raw(String(value).utf8)
    } else {
      null()
    }
  }

  /// `true` or `false`.
  @inlinable
  public mutating func bool(_ value: Bool) {
    if value { raw("true") } else { raw("false") }
  }

  /// A decimal number, as `"\(value)"` would print it.
  @inlinable
  public mutating func number(_ value: Int64) {
    if value < 0 {
      bytes.append(UInt8(ascii: "-"))
      number(UInt64(0) &- UInt64(bitPattern: value))
    } else {
      number(UInt64(value))
    }
  }

  /// A decimal number, as `"\(value)"` would print it.
  @inlinable
  public mutating func number(_ value: UInt64) {
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
