import SluiceCore

/// interval values under Debezium's `interval.handling.mode`, read from PostgreSQL's
/// `intervalstyle=iso_8601` output (`P1Y2M3DT4H5M6.5S`, `PT0S`, `P-1Y-2M`), which the CDC
/// sessions set.
enum IntervalConversion {
  /// An interval's fields as PostgreSQL keeps them apart (a month has no fixed length).
  struct Fields: Equatable {
    var years: Int64 = 0
    var months: Int64 = 0
    var days: Int64 = 0
    var hours: Int64 = 0
    var minutes: Int64 = 0
    var seconds: Int64 = 0
    /// The seconds' fraction, with the sign of the seconds.
    var micros: Int64 = 0

    init() {}

    /// Parses ISO-8601 duration text as PostgreSQL writes it; nil for anything else.
    init?<C: Collection<UInt8>>(_ text: C) where C.Index == Int {
      var s = TemporalConversion.Scanner(text)
      guard s.skip("P") else { return nil }
      var inTime = false
      while !s.atEnd {
        if s.skip("T") {
          inTime = true
          continue
        }
        let negative = s.skip("-")
        guard let whole = s.digits(max: 10) else { return nil }
        var fraction: Int64 = 0
        if s.skip(".") {
          guard let micros = s.microsecondFraction() else { return nil }
          fraction = micros
        }
        let sign: Int64 = negative ? -1 : 1
        let value = sign * whole.value
        guard let unit = s.peek else { return nil }
        s.index += 1
        switch (unit, inTime) {
        case (UInt8(ascii: "Y"), false): years = value
        case (UInt8(ascii: "M"), false): months = value
        case (UInt8(ascii: "W"), false): days += 7 * value
        case (UInt8(ascii: "D"), false): days = value
        case (UInt8(ascii: "H"), true): hours = value
        case (UInt8(ascii: "M"), true): minutes = value
        case (UInt8(ascii: "S"), true):
          seconds = value
          micros = sign * fraction
        default: return nil
        }
      }
    }

    /// Debezium's MicroDuration: the fields as microseconds, a month counting as
    /// 365.25 / 12 days, computed in doubles as Debezium does and cut to a whole number.
    var microDuration: Int64 {
      let daysPerMonth = 365.25 / 12.0
      let totalDays = Double(years * 12 + months) * daysPerMonth + Double(days)
      let totalSeconds =
        ((totalDays * 24 + Double(hours)) * 60 + Double(minutes)) * 60 + Double(seconds)
      // Java's (long) cast saturates; Swift's would trap.
      let total = totalSeconds * 1e6
      guard total > -9.2e18, total < 9.2e18 else { return total < 0 ? Int64.min : Int64.max }
      return Int64(total) &+ micros
    }

    /// Debezium's Interval string: `P<y>Y<m>M<d>DT<h>H<m>M<s>S`, every field written.
    var isoString: String {
      var secondsText: String
      if micros == 0 {
        secondsText = String(seconds)
      } else {
        let negative = seconds < 0 || micros < 0
        var fraction = String(abs(micros))
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        secondsText = (negative ? "-" : "") + String(abs(seconds)) + "." + fraction
      }
      return "P\(years)Y\(months)M\(days)DT\(hours)H\(minutes)M\(secondsText)S"
    }
  }

  static func write<C: Collection<UInt8>>(
    _ text: C, mode: ValueConversionOptions.IntervalHandling, to out: inout JSONWriter
  ) where C.Index == Int {
    guard let fields = Fields(text) else {
      out.string(utf8: text)
      return
    }
    switch mode {
    case .numeric: out.number(fields.microDuration)
    case .string: out.string(fields.isoString)
    }
  }
}
