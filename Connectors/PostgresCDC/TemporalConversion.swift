import SluiceCore

/// date, time, timetz, timestamp and timestamptz values under Debezium's
/// `time.precision.mode`, read from PostgreSQL's ISO output (the CDC sessions set
/// `datestyle=ISO`, `timezone=UTC`).
///
/// Debezium's forms: `date` as days since 1970-01-01 (io.debezium.time.Date); `time` and
/// `timestamp` as milliseconds up to precision 3 (io.debezium.time.Time, .Timestamp) and
/// microseconds above (MicroTime, MicroTimestamp); `timestamptz` and `timetz` as ISO strings
/// in UTC (ZonedTimestamp, ZonedTime).
enum TemporalConversion {
  static let microsPerDay: Int64 = 86_400_000_000

  // MARK: - Parsing PostgreSQL's text

  /// Reads `text` left to right, in place (values are slices of the message's bytes).
  struct Scanner<Text: Collection<UInt8>> where Text.Index == Int {
    let text: Text
    var index: Int

    init(_ text: Text) {
      self.text = text
      index = text.startIndex
    }

    var atEnd: Bool { index >= text.endIndex }
    var peek: UInt8? { atEnd ? nil : text[index] }

    mutating func skip(_ c: Unicode.Scalar) -> Bool {
      guard peek == UInt8(ascii: c) else { return false }
      index += 1
      return true
    }

    /// A run of 1 to `max` digits as a number, and how many digits it had; nil for more,
    /// so no later arithmetic on a field can overflow whatever the bytes are.
    mutating func digits(max: Int) -> (value: Int64, count: Int)? {
      var value: Int64 = 0
      var count = 0
      while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
        value = value &* 10 &+ Int64(c - UInt8(ascii: "0"))
        count += 1
        index += 1
      }
      return count > 0 && count <= max ? (value, count) : nil
    }

    /// The digits after a decimal point (at most nine) as microseconds: fewer than six are
    /// padded, more are cut.
    mutating func microsecondFraction() -> Int64? {
      guard var (value, count) = digits(max: 9) else { return nil }
      while count < 6 {
        value *= 10
        count += 1
      }
      while count > 6 {
        value /= 10
        count -= 1
      }
      return value
    }

    /// ` BC` at the end of a date.
    mutating func era() -> Bool {
      if text.endIndex - index == 3, text[index...].elementsEqual(" BC".utf8) {
        index += 3
        return true
      }
      return false
    }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date (year 0 is 1 BC).
  static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  /// The proleptic Gregorian date of a day since 1970-01-01.
  static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  /// `HH:MM:SS[.ffffff]` as microseconds since midnight.
  static func scanTime<T>(_ s: inout Scanner<T>) -> Int64? {
    guard let hours = s.digits(max: 2), s.skip(":"), let minutes = s.digits(max: 2), s.skip(":"),
      let seconds = s.digits(max: 2)
    else { return nil }
    var micros = ((hours.value * 60 + minutes.value) * 60 + seconds.value) * 1_000_000
    if s.skip("."), let fraction = s.microsecondFraction() { micros += fraction }
    return micros
  }

  /// `+HH[:MM[:SS]]` or `-…` as seconds east of UTC.
  static func scanOffset<T>(_ s: inout Scanner<T>) -> Int64? {
    let sign: Int64
    if s.skip("+") {
      sign = 1
    } else if s.skip("-") {
      sign = -1
    } else {
      return nil
    }
    guard let hours = s.digits(max: 2) else { return nil }
    var seconds = hours.value * 3600
    if s.skip(":"), let minutes = s.digits(max: 2) { seconds += minutes.value * 60 }
    if s.skip(":"), let secs = s.digits(max: 2) { seconds += secs.value }
    return sign * seconds
  }

  /// A date's text as days since the epoch; BC years count back from year 0 (1 BC).
  static func date<C: Collection<UInt8>>(_ text: C) -> Int64? where C.Index == Int {
    var s = Scanner(text)
    guard let year = s.digits(max: 7), s.skip("-"), let month = s.digits(max: 2), s.skip("-"),
      let day = s.digits(max: 2)
    else { return nil }
    let bc = s.era()
    guard s.atEnd else { return nil }
    return days(year: bc ? 1 - year.value : year.value, month: month.value, day: day.value)
  }

  /// A timestamp's text (with an offset when `zoned`) as microseconds since the epoch, UTC.
  static func timestamp<C: Collection<UInt8>>(_ text: C, zoned: Bool) -> Int64?
  where C.Index == Int {
    var s = Scanner(text)
    guard let year = s.digits(max: 7), s.skip("-"), let month = s.digits(max: 2), s.skip("-"),
      let day = s.digits(max: 2), s.skip(" "), let time = scanTime(&s)
    else { return nil }
    var offset: Int64 = 0
    if zoned {
      guard let seconds = scanOffset(&s) else { return nil }
      offset = seconds
    }
    let bc = s.era()
    guard s.atEnd else { return nil }
    let days = days(year: bc ? 1 - year.value : year.value, month: month.value, day: day.value)
    // Years of up to seven digits can pass the microsecond range: nil, not a trap.
    let (start, overflow) = days.multipliedReportingOverflow(by: microsPerDay)
    let (micros, past) = start.addingReportingOverflow(time - offset * 1_000_000)
    guard !overflow, !past else { return nil }
    return micros
  }

  // MARK: - Writing Debezium's forms

  /// Positive and negative infinity of `timestamp` as Debezium 3.6 writes them: pgjdbc's
  /// infinity constants (`PGStatement.DATE_POSITIVE_INFINITY`, `DATE_NEGATIVE_INFINITY`)
  /// taken as microseconds, in milliseconds for precision ≤ 3.
  static let infinityMicros: (Int64, Int64) = (
    9_223_372_036_825_200_000, -9_223_372_036_832_400_000
  )
  static let infinityMillis = (infinityMicros.0 / 1000, infinityMicros.1 / 1000)

  static func writeDate<C: Collection<UInt8>>(
    _ text: C, mode: ValueConversionOptions.TimePrecision, to out: inout JSONWriter
  ) where C.Index == Int {
    if let days = date(text) {
      if mode == .isostring {
        // Debezium's IsoDate ends with the zone, always UTC.
        out.string(isoDate(days: days) + "Z")
      } else {
        out.number(days)
      }
    } else if text.elementsEqual("infinity".utf8) {
      // pgjdbc's dates for ±infinity, which Debezium converts to days like any other.
      out.number(days(year: 5_877_611, month: 6, day: 21))
    } else if text.elementsEqual("-infinity".utf8) {
      out.number(days(year: -5_877_641, month: 6, day: 23))
    } else {
      out.string(utf8: text)
    }
  }

  static func writeTime<C: Collection<UInt8>>(
    _ text: C, precision: Int, mode: ValueConversionOptions.TimePrecision,
    to out: inout JSONWriter
  ) where C.Index == Int {
    var s = Scanner(text)
    guard let micros = scanTime(&s), s.atEnd else {
      out.string(utf8: text)
      return
    }
    switch mode {
    case .adaptive: out.number(precision <= 3 ? micros / 1000 : micros)
    case .adaptiveTimeMicroseconds: out.number(micros)
    case .connect: out.number(micros / 1000)
    case .isostring: out.string(isoTime(micros: micros, fractionDigits: nil) + "Z")
    }
  }

  static func writeTimestamp<C: Collection<UInt8>>(
    _ text: C, precision: Int, mode: ValueConversionOptions.TimePrecision,
    to out: inout JSONWriter
  ) where C.Index == Int {
    let millis = mode == .connect || (mode != .isostring && precision <= 3)
    guard let micros = timestamp(text, zoned: false) else {
      if text.elementsEqual("infinity".utf8) || text.elementsEqual("-infinity".utf8) {
        let positive = text.first == UInt8(ascii: "i")
        if mode == .isostring {
          let micros = positive ? infinityMicros.0 : infinityMicros.1
          out.string(isoTimestamp(micros: micros, fractionDigits: nil, zone: "Z"))
        } else if millis {
          out.number(positive ? infinityMillis.0 : infinityMillis.1)
        } else {
          out.number(positive ? infinityMicros.0 : infinityMicros.1)
        }
      } else {
        out.string(utf8: text)
      }
      return
    }
    if mode == .isostring {
      out.string(isoTimestamp(micros: micros, fractionDigits: nil, zone: "Z"))
    } else if millis {
      out.number(floorDivide(micros, 1000))
    } else {
      out.number(micros)
    }
  }

  /// timestamptz as Debezium's ZonedTimestamp: ISO-8601 in UTC with `Z`, as many fraction
  /// digits as the column's precision; `infinity` and `-infinity` as they are.
  static func writeZonedTimestamp<C: Collection<UInt8>>(
    _ text: C, precision: Int, to out: inout JSONWriter
  ) where C.Index == Int {
    if writeUTCInPlace(text, precision: precision, to: &out) { return }
    guard let micros = timestamp(text, zoned: true) else {
      out.string(utf8: text)
      return
    }
    out.string(isoTimestamp(micros: micros, fractionDigits: precision, zone: "Z"))
  }

  /// The common case without parsing: `YYYY-MM-DD HH:MM:SS[.f]+00` (the session is in UTC)
  /// copied as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the fraction padded or cut to `precision`.
  /// False for anything else (other offsets, BC, years past 9999), which takes the long way.
  private static func writeUTCInPlace<C: Collection<UInt8>>(
    _ text: C, precision: Int, to out: inout JSONWriter
  ) -> Bool where C.Index == Int {
    let start = text.startIndex
    let end = text.endIndex
    guard text.count >= 22, text[start + 4] == UInt8(ascii: "-"),
      text[start + 10] == UInt8(ascii: " "), text[start + 13] == UInt8(ascii: ":"),
      text[end - 3] == UInt8(ascii: "+"), text[end - 2] == UInt8(ascii: "0"),
      text[end - 1] == UInt8(ascii: "0")
    else { return false }
    let timeEnd = start + 19
    var fraction = text[timeEnd..<(end - 3)]
    if !fraction.isEmpty {
      guard fraction.first == UInt8(ascii: "."), fraction.count <= 7 else { return false }
      fraction = fraction.dropFirst()
    }
    out.bytes.append(UInt8(ascii: "\""))
    out.bytes.append(contentsOf: text[start..<(start + 10)])
    out.bytes.append(UInt8(ascii: "T"))
    out.bytes.append(contentsOf: text[(start + 11)..<timeEnd])
    let width = max(0, min(precision, 6))
    if width > 0 {
      out.bytes.append(UInt8(ascii: "."))
      out.bytes.append(contentsOf: fraction.prefix(width))
      for _ in 0..<max(0, width - fraction.count) { out.bytes.append(UInt8(ascii: "0")) }
    }
    out.bytes.append(UInt8(ascii: "Z"))
    out.bytes.append(UInt8(ascii: "\""))
    return true
  }

  /// timetz as Debezium's ZonedTime: the time moved to UTC, `HH:MM:SS[.f]Z`.
  static func writeZonedTime<C: Collection<UInt8>>(_ text: C, to out: inout JSONWriter)
  where C.Index == Int {
    var s = Scanner(text)
    guard let time = scanTime(&s), let offset = scanOffset(&s), s.atEnd else {
      out.string(utf8: text)
      return
    }
    var utc = (time - offset * 1_000_000) % microsPerDay
    if utc < 0 { utc += microsPerDay }
    out.string(isoTime(micros: utc, fractionDigits: nil) + "Z")
  }

  static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
  }

  /// `YYYY-MM-DD` as java.time prints it: four digits at least, a sign beyond 9999 or
  /// before year 0.
  static func isoDate(days: Int64) -> String {
    let (year, month, day) = civil(days: days)
    var text: String
    if year > 9999 {
      text = "+\(year)"
    } else if year < 0 {
      text = "-" + pad(-year, 4)
    } else {
      text = pad(year, 4)
    }
    text += "-" + pad(month, 2) + "-" + pad(day, 2)
    return text
  }

  /// `HH:MM:SS` and a fraction: `fractionDigits` digits, or (nil) as java.time's ISO
  /// formatter prints it — none for whole seconds, else without trailing zeros.
  static func isoTime(micros: Int64, fractionDigits: Int?) -> String {
    let seconds = micros / 1_000_000
    var text =
      pad(seconds / 3600, 2) + ":" + pad(seconds / 60 % 60, 2) + ":" + pad(seconds % 60, 2)
    let fraction = micros % 1_000_000
    var digits = pad(fraction, 6)
    if let width = fractionDigits {
      digits = String(digits.prefix(max(0, min(width, 6))))
    } else {
      while digits.hasSuffix("0") { digits.removeLast() }
    }
    if !digits.isEmpty { text += "." + digits }
    return text
  }

  static func isoTimestamp(micros: Int64, fractionDigits: Int?, zone: String) -> String {
    let days = floorDivide(micros, microsPerDay)
    // The remainder, not micros - days * microsPerDay: that product overflows near the
    // ends of the range (Debezium's -infinity).
    var time = micros % microsPerDay
    if time < 0 { time += microsPerDay }
    return isoDate(days: days) + "T" + isoTime(micros: time, fractionDigits: fractionDigits) + zone
  }

  private static func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
  }
}
