import Foundation
import SluiceCore

/// numeric, decimal and money values under Debezium's `decimal.handling.mode`.
///
/// `precise` is Kafka Connect's Decimal: the unscaled value (the digits without the decimal
/// point) as Java's `BigInteger.toByteArray()` gives it — big-endian two's complement in the
/// fewest bytes — which the JSON converter writes as base64. A numeric column without a
/// declared scale becomes Debezium's VariableScaleDecimal, `{"scale":n,"value":base64}`.
enum NumericConversion {
  /// A decimal's text, taken apart: sign, digits without leading zeros ("0" for zero) and
  /// how many of them are after the point.
  struct Decimal: Equatable {
    var negative: Bool
    var digits: [UInt8]
    var scale: Int

    /// The decimal in `text` (`-12.340`, `1e5` is not PostgreSQL output and is rejected).
    init?<C: Collection<UInt8>>(_ text: C) {
      var negative = false
      var digits: [UInt8] = []
      var scale = 0
      var seenPoint = false
      for (i, c) in text.enumerated() {
        switch c {
        case UInt8(ascii: "-") where i == 0: negative = true
        case UInt8(ascii: "+") where i == 0: break
        case UInt8(ascii: "."):
          if seenPoint { return nil }
          seenPoint = true
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
          digits.append(c - UInt8(ascii: "0"))
          if seenPoint { scale += 1 }
        default: return nil
        }
      }
      guard !digits.isEmpty else { return nil }
      while digits.count > 1, digits[0] == 0 { digits.removeFirst() }
      self.init(negative: negative && digits != [0], digits: digits, scale: scale)
    }

    init(negative: Bool, digits: [UInt8], scale: Int) {
      self.negative = negative
      self.digits = digits
      self.scale = scale
    }

    /// The same value with `scale` digits after the point (extra digits are cut off;
    /// PostgreSQL already sends a column's declared scale).
    func rescaled(to newScale: Int) -> Decimal {
      var digits = self.digits
      if newScale > scale {
        digits += Array(repeating: 0, count: newScale - scale)
      } else if newScale < scale {
        digits.removeLast(min(digits.count, scale - newScale))
        if digits.isEmpty { digits = [0] }
      }
      while digits.count > 1, digits[0] == 0 { digits.removeFirst() }
      return Decimal(negative: negative && digits != [0], digits: digits, scale: newScale)
    }

    /// The unscaled value as Java's `BigInteger.toByteArray()`: big-endian two's complement,
    /// as few bytes as hold it with its sign bit.
    var unscaledBytes: [UInt8] {
      // Base 10 to base 256 by repeated division of the digit string.
      var magnitude: [UInt8] = []
      var number = digits
      while !(number.count == 1 && number[0] == 0) && !number.isEmpty {
        var quotient: [UInt8] = []
        var remainder = 0
        for d in number {
          let value = remainder * 10 + Int(d)
          let q = value / 256
          remainder = value % 256
          if !quotient.isEmpty || q > 0 { quotient.append(UInt8(q)) }
        }
        magnitude.append(UInt8(remainder))
        number = quotient.isEmpty ? [0] : quotient
      }
      magnitude.reverse()
      if magnitude.isEmpty { return [0] }
      if !negative {
        return magnitude[0] & 0x80 != 0 ? [0] + magnitude : magnitude
      }
      // Two's complement: invert and add one, then a 0xFF in front if the sign bit is clear.
      var bytes = magnitude.map { ~$0 }
      var carry = true
      for i in bytes.indices.reversed() where carry {
        let (sum, overflow) = bytes[i].addingReportingOverflow(1)
        bytes[i] = sum
        carry = overflow
      }
      return bytes[0] & 0x80 == 0 ? [0xFF] + bytes : bytes
    }

    /// The text Java's `BigDecimal.toPlainString()` gives (Debezium's string mode): never
    /// scientific, `-0.00000025` not `-2.5E-7`.
    var plainString: String {
      var out = negative ? "-" : ""
      let text = String(decoding: digits.map { $0 + UInt8(ascii: "0") }, as: UTF8.self)
      if scale >= 0 {
        if scale == 0 {
          out += text
        } else if digits.count > scale {
          out += text.prefix(digits.count - scale) + "." + text.suffix(scale)
        } else {
          out += "0." + String(repeating: "0", count: scale - digits.count) + text
        }
        return out
      }
      return out + text + String(repeating: "0", count: -scale)
    }
  }

  /// A numeric value (`scale` nil: variable scale) as the mode writes it.
  static func writeNumeric<C: Collection<UInt8>>(
    _ text: C, scale: Int?, mode: ValueConversionOptions.DecimalHandling,
    to out: inout JSONWriter
  ) {
    guard let value = Decimal(text) else {
      writeSpecial(text, mode: mode, to: &out)
      return
    }
    switch mode {
    case .precise:
      if let scale {
        out.string(Data(value.rescaled(to: scale).unscaledBytes).base64EncodedString())
      } else {
        out.raw("{\"scale\":")
        out.number(Int64(value.scale))
        out.raw(",\"value\":")
        out.string(Data(value.unscaledBytes).base64EncodedString())
        out.byte("}")
      }
    case .double:
      writeDouble(text, to: &out)
    case .string:
      out.string(scale.map { value.rescaled(to: $0) }.map(\.plainString) ?? value.plainString)
    }
  }

  /// NaN and ±Infinity, which a Decimal cannot hold: null in precise mode (Debezium's value
  /// for them there), the Java double's text in double mode, the special value's name in
  /// string mode.
  private static func writeSpecial<C: Collection<UInt8>>(
    _ text: C, mode: ValueConversionOptions.DecimalHandling, to out: inout JSONWriter
  ) {
    let word = String(decoding: text, as: UTF8.self)
    switch mode {
    case .precise: out.null()
    case .double:
      switch word {
      case "NaN": out.string("NaN")
      case "Infinity": out.string("Infinity")
      case "-Infinity": out.string("-Infinity")
      default: out.string(word)
      }
    case .string:
      switch word {
      case "NaN": out.string("NAN")
      case "Infinity": out.string("POSITIVE_INFINITY")
      case "-Infinity": out.string("NEGATIVE_INFINITY")
      default: out.string(word)
      }
    }
  }

  /// Debezium's `money.fraction.digits` default: money values have two decimals.
  static let moneyScale = 2

  /// A money value (`-$1,234.56` in the C locale) as a decimal of scale 2 under the mode.
  static func writeMoney<C: Collection<UInt8>>(
    _ text: C, mode: ValueConversionOptions.DecimalHandling, to out: inout JSONWriter
  ) {
    let plain = text.filter {
      ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".")
        || $0 == UInt8(ascii: "-")
    }
    let negative = plain.first == UInt8(ascii: "-") || text.first == UInt8(ascii: "(")
    let unsigned = plain.filter { $0 != UInt8(ascii: "-") }
    guard var value = Decimal(unsigned) else {
      out.string(utf8: text)
      return
    }
    value.negative = negative && value.digits != [0]
    let scaled = value.rescaled(to: moneyScale)
    switch mode {
    case .precise: out.string(Data(scaled.unscaledBytes).base64EncodedString())
    case .double: writeDouble(Array(scaled.plainString.utf8), to: &out)
    case .string: out.string(scaled.plainString)
    }
  }

  /// A number as a Java double: NaN and the infinities as the strings Jackson writes for
  /// them, other values rounded to a double.
  static func writeDouble<C: Collection<UInt8>>(_ text: C, to out: inout JSONWriter) {
    guard let value = Double(String(decoding: text, as: UTF8.self)) else {
      out.string(utf8: text)
      return
    }
    if value.isNaN {
      out.string("NaN")
    } else if value.isInfinite {
      out.string(value < 0 ? "-Infinity" : "Infinity")
    } else {
      out.raw(Array(value.description.utf8))
    }
  }
}
