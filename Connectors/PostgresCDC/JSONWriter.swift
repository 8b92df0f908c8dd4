/// Builds JSON text straight into bytes: the change events are written field by field in
/// Debezium's order, which `JSONSerialization` would neither keep nor do as fast.
struct JSONWriter {
  var bytes: [UInt8] = []

  init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

  mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }
  mutating func raw<C: Collection<UInt8>>(_ text: C) { bytes.append(contentsOf: text) }
  mutating func byte(_ c: Character) { bytes.append(c.asciiValue!) }

  /// `"name":`
  mutating func key(_ name: String) {
    string(name)
    bytes.append(UInt8(ascii: ":"))
  }

  mutating func string(_ text: String) { string(utf8: text.utf8) }

  /// A JSON string of UTF-8 text, escaped as RFC 8259 requires.
  mutating func string<C: Collection<UInt8>>(utf8 text: C) {
    bytes.append(UInt8(ascii: "\""))
    for c in text {
      switch c {
      case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
      case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
      case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
      case UInt8(ascii: "\r"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
      case UInt8(ascii: "\t"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
      case 0..<0x20:
        let hex = Array("0123456789abcdef".utf8)
        bytes += [
          UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
          hex[Int(c >> 4)], hex[Int(c & 15)],
        ]
      default: bytes.append(c)
      }
    }
    bytes.append(UInt8(ascii: "\""))
  }

  mutating func null() { raw("null") }
}
