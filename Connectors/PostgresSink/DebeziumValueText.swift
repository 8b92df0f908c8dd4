import Foundation
import SluiceCore

/// Debezium's encodings of PostgreSQL values turned back into the text PostgreSQL's input
/// functions read, by the target column's type: a number for a `date` column is days since
/// the epoch, for `timestamp(p)` and `time(p)` milliseconds (p ≤ 3) or microseconds (as
/// Debezium's adaptive mode writes them), for `interval` microseconds; a base64 string or a
/// `{"scale","value"}` object for `numeric` and `money` is a Connect Decimal; a base64 string
/// for `bit(n)` and `bit varying` is Debezium's Bits, a `{x, y, wkb, srid}` object for
/// `point` Debezium's Point, an object for `hstore` a Connect map of its pairs.
///
/// Without a schema the JSON does not say which encoding a value has, so the column's type
/// decides; values already in PostgreSQL's text form (ISO strings, decimal strings) pass
/// through as they are.
enum DebeziumValueText {
  /// `YYYY-MM-DD` (with ` BC` before year 1) of a day since 1970-01-01.
  static func date(days: Int64) -> String {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    let shown = year <= 0 ? 1 - year : year
    return pad(shown, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + (year <= 0 ? " BC" : "")
  }

  /// `HH:MM:SS.ffffff` of microseconds since midnight.
  static func time(micros: Int64) -> String {
    let seconds = micros / 1_000_000
    return pad(seconds / 3600, 2) + ":" + pad(seconds / 60 % 60, 2) + ":" + pad(seconds % 60, 2)
      + "." + pad(micros % 1_000_000, 6)
  }

  /// `YYYY-MM-DD HH:MM:SS.ffffff` of microseconds since the epoch.
  static func timestamp(micros: Int64) -> String {
    let perDay: Int64 = 86_400_000_000
    var days = micros / perDay
    var rest = micros % perDay
    if rest < 0 {
      days -= 1
      rest += perDay
    }
    let text = date(days: days)
    if text.hasSuffix(" BC") {
      return String(text.dropLast(3)) + " " + time(micros: rest) + " BC"
    }
    return text + " " + time(micros: rest)
  }

  /// `infinity` or `-infinity` for Debezium's constants of a timestamp's infinities (pgjdbc's,
  /// taken as microseconds; divided by 1000 for milliseconds); nil for other values.
  static func infinity(epoch value: Int64, millis: Bool) -> String? {
    let (positive, negative): (Int64, Int64) = (
      9_223_372_036_825_200_000, -9_223_372_036_832_400_000
    )
    switch value {
    case millis ? positive / 1000 : positive: return "infinity"
    case millis ? negative / 1000 : negative: return "-infinity"
    default: return nil
    }
  }

  /// A Connect Decimal's unscaled bytes (big-endian two's complement, base64) with `scale`
  /// as decimal text; nil when `base64` is not base64.
  static func decimal(base64: String, scale: Int) -> String? {
    guard let data = Data(base64Encoded: base64), !data.isEmpty else { return nil }
    let bytes = [UInt8](data)
    let negative = bytes[0] & 0x80 != 0
    // The magnitude: the bytes themselves, or their two's complement for a negative value.
    var magnitude = bytes
    if negative {
      magnitude = magnitude.map { ~$0 }
      for i in magnitude.indices.reversed() {
        let (sum, overflow) = magnitude[i].addingReportingOverflow(1)
        magnitude[i] = sum
        if !overflow { break }
      }
    }
    // Base 256 to base 10, least significant digit first.
    var digits: [UInt8] = [0]
    for byte in magnitude {
      var carry = Int(byte)
      for i in digits.indices {
        let value = Int(digits[i]) * 256 + carry
        digits[i] = UInt8(value % 10)
        carry = value / 10
      }
      while carry > 0 {
        digits.append(UInt8(carry % 10))
        carry /= 10
      }
    }
    while digits.count <= scale { digits.append(0) }
    var text = String(decoding: digits.reversed().map { $0 + UInt8(ascii: "0") }, as: UTF8.self)
    while text.count > scale + 1, text.hasPrefix("0") { text.removeFirst() }
    if scale > 0 { text.insert(".", at: text.index(text.endIndex, offsetBy: -scale)) }
    if scale < 0 { text += String(repeating: "0", count: -scale) }
    return (negative ? "-" : "") + text
  }

  /// Debezium's Bits (the bits as one number, its bytes little-endian, base64) as a bit
  /// string: `length` characters for `bit(n)` (high zeros kept, as the column has them), the
  /// significant bits when `length` is nil, for `bit varying` (the bytes do not say how many
  /// leading zeros there were). A value with more significant bits than `length` keeps them
  /// all, so PostgreSQL rejects it rather than the sink cutting it. Nil when `base64` is not
  /// base64.
  static func bits(base64: String, length: Int?) -> String? {
    guard let data = Data(base64Encoded: base64) else { return nil }
    let bytes = [UInt8](data)
    func bit(_ i: Int) -> Bool { i / 8 < bytes.count && bytes[i / 8] >> (i % 8) & 1 == 1 }
    let significant =
      bytes.lastIndex { $0 != 0 }.map { $0 * 8 + (8 - bytes[$0].leadingZeroBitCount) } ?? 0
    let count = max(length ?? 1, significant)
    var text = [UInt8](repeating: UInt8(ascii: "0"), count: count)
    for i in 0..<significant where bit(i) { text[count - 1 - i] = UInt8(ascii: "1") }
    return String(decoding: text, as: UTF8.self)
  }

  /// Whether `text` is a bit string (`0101`) that fits a column of `length` bits: exactly
  /// `length` for `bit(n)`, at most it for `bit varying(n)`, any for `bit varying`.
  static func isBitText(_ text: String, length: Int?, varying: Bool) -> Bool {
    let utf8 = text.utf8
    guard !utf8.isEmpty, utf8.allSatisfy({ $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "1") })
    else {
      return false
    }
    guard let length else { return true }
    return varying ? utf8.count <= length : utf8.count == length
  }

  /// A `point`'s text `(x,y)` of Debezium's Point coordinates, each a JSON number as written
  /// (so no digit is lost) or a string such as `NaN`.
  static func point(x: String, y: String) -> String { "(\(x),\(y))" }

  /// The coordinates of a well-known-binary point (byte order, type 1, x, y), as Debezium's
  /// Point carries it in `wkb`; nil for anything else.
  static func point(wkb base64: String) -> (x: Double, y: Double)? {
    guard let data = Data(base64Encoded: base64), data.count >= 21 else { return nil }
    let bytes = [UInt8](data)
    let little = bytes[0] == 1
    func word(_ at: Int, _ size: Int) -> UInt64 {
      let part = bytes[at..<(at + size)]
      return (little ? part.reversed() : Array(part)).reduce(0) { $0 << 8 | UInt64($1) }
    }
    guard bytes[0] <= 1, word(1, 4) == 1 else { return nil }
    return (Double(bitPattern: word(5, 8)), Double(bitPattern: word(13, 8)))
  }

  /// hstore's text (`"a"=>"1", "b"=>NULL`) of its pairs; keys and values quoted, their quotes
  /// and backslashes escaped as hstore's input reads them.
  static func hstore(_ pairs: [(key: String, value: String?)]) -> String {
    func quoted(_ text: String) -> String {
      "\""
        + text.replacingOccurrences(of: "\\", with: "\\\\")
        .replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
    return pairs.map { quoted($0.key) + "=>" + ($0.value.map(quoted) ?? "NULL") }
      .joined(separator: ", ")
  }

  /// Whether `text` is a decimal number as PostgreSQL's numeric input reads it.
  static func isDecimalText(_ text: String) -> Bool {
    guard !text.isEmpty else { return false }
    if ["NaN", "Infinity", "-Infinity"].contains(text) { return true }
    return text.allSatisfy { $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }
      && text.contains(where: \.isNumber)
  }

  private static func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
  }
}
