import Foundation
import SluiceCore

/// bytea values under Debezium's `binary.handling.mode`, and bit strings as Debezium's Bits.
enum BinaryConversion {
  /// bytea's hex output (`\x0a0b`) as bytes; nil when the text is not in that form.
  static func byteaBytes<C: Collection<UInt8>>(_ text: C) -> [UInt8]? {
    let chars = Array(text)
    guard chars.count >= 2, chars[0] == UInt8(ascii: "\\"), chars[1] == UInt8(ascii: "x"),
      chars.count % 2 == 0
    else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity((chars.count - 2) / 2)
    var i = 2
    while i < chars.count {
      guard let high = hexValue(chars[i]), let low = hexValue(chars[i + 1]) else { return nil }
      bytes.append(high << 4 | low)
      i += 2
    }
    return bytes
  }

  /// Bytes as the mode writes them: base64 (what the JSON converter makes of Connect bytes),
  /// URL-safe base64, or lower-case hex.
  static func encode(_ bytes: [UInt8], mode: ValueConversionOptions.BinaryHandling) -> String {
    switch mode {
    case .bytes, .base64:
      return Data(bytes).base64EncodedString()
    case .base64UrlSafe:
      return String(
        Data(bytes).base64EncodedString().map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    case .hex:
      let digits = Array("0123456789abcdef".utf8)
      var text: [UInt8] = []
      text.reserveCapacity(bytes.count * 2)
      for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 15)])
      }
      return String(decoding: text, as: UTF8.self)
    }
  }

  static func writeBytea<C: Collection<UInt8>>(
    _ text: C, mode: ValueConversionOptions.BinaryHandling, to out: inout JSONWriter
  ) {
    out.string(encode(byteaBytes(text) ?? Array(text), mode: mode))
  }

  /// A bit string (`0101`): bit(1) as a boolean; longer ones as Debezium's Bits — the bits
  /// as one number (the first bit the highest), its bytes little-endian without high zero
  /// bytes (as Java's `BitSet.toByteArray()`: none for zero) — in base64.
  static func writeBits<C: Collection<UInt8>>(
    _ text: C, length: Int?, to out: inout JSONWriter
  ) {
    let bits = Array(text)
    guard bits.allSatisfy({ $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "1") }) else {
      out.string(utf8: text)
      return
    }
    if length == 1 {
      out.raw(bits.first == UInt8(ascii: "1") ? "true" : "false")
      return
    }
    // High zero bytes are dropped below, so the value's own length is enough (a declared
    // length can be far larger than the bits sent).
    let count = max(1, (bits.count + 7) / 8)
    var bytes = [UInt8](repeating: 0, count: count)
    // The last character is bit 0.
    for (position, c) in bits.reversed().enumerated() where c == UInt8(ascii: "1") {
      guard position / 8 < count else { break }
      bytes[position / 8] |= 1 << (position % 8)
    }
    while bytes.last == 0 { bytes.removeLast() }
    out.string(Data(bytes).base64EncodedString())
  }

  private static func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}
