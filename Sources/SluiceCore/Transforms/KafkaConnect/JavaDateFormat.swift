/// The common part of Java's `SimpleDateFormat` patterns, in UTC as Kafka Connect's
/// TimestampConverter and TimestampRouter use them: `yyyy`/`yy` year, `M`/`MM` month (`MMM`
/// `Jan`, `MMMM` `January`), `dd` day, `HH` hour (0–23), `hh` hour (1–12) with `a` (AM/PM),
/// `mm`, `ss`, `SSS` milliseconds, `EEE`/`EEEE` weekday, `X`/`XX`/`XXX` and `Z` zone offsets
/// (`Z`, `+01`, `+0100`, `+01:00`), and text in single quotes (`'T'`; `''` is a quote). Other
/// letters are refused when the pattern is read, so a typo is a config error.
struct JavaDateFormat: Sendable {
  enum Token: Sendable, Equatable {
    case literal(String)
    /// A pattern letter repeated `count` times.
    case field(Character, count: Int)
  }

  let pattern: String
  let tokens: [Token]

  static let letters: Set<Character> = ["y", "M", "d", "H", "h", "a", "m", "s", "S", "E", "X", "Z"]

  /// The pattern's tokens; throws the reason a pattern cannot be used.
  init(_ pattern: String) throws(TransformError) {
    self.pattern = pattern
    var tokens: [Token] = []
    var literal = ""
    let chars = Array(pattern)
    var i = 0
    func flush() {
      if !literal.isEmpty { tokens.append(.literal(literal)) }
      literal = ""
    }
    while i < chars.count {
      let c = chars[i]
      if c == "'" {
        if i + 1 < chars.count, chars[i + 1] == "'" {
          literal.append("'")
          i += 2
          continue
        }
        guard let end = chars[(i + 1)...].firstIndex(of: "'") else {
          throw TransformError("the pattern '\(pattern)' has an unclosed quote")
        }
        literal += String(chars[(i + 1)..<end])
        i = end + 1
        continue
      }
      if c.isASCII, c.isLetter {
        guard Self.letters.contains(c) else {
          throw TransformError(
            "the pattern letter '\(c)' in '\(pattern)' is not supported (y M d H h a m s S E X Z)")
        }
        var count = 1
        while i + count < chars.count, chars[i + count] == c { count += 1 }
        if c == "X", count > 3 {
          throw TransformError("the pattern '\(pattern)' has more than three X")
        }
        flush()
        tokens.append(.field(c, count: count))
        i += count
        continue
      }
      literal.append(c)
      i += 1
    }
    flush()
    self.tokens = tokens
  }

  // MARK: - Formatting

  private static let months = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
  ]
  private static let weekdays = [
    "Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday",
  ]

  /// The text for a time in milliseconds since the epoch, in UTC.
  func format(_ millis: Int64) -> String {
    let (days, msOfDay) = Self.floorDivide(millis, 86_400_000)
    let (year, month, day) = Self.civil(days)
    var out = ""
    func number(_ n: Int64, _ width: Int) {
      let digits = String(abs(n))
      if n < 0 { out += "-" }
      out += String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    for token in tokens {
      switch token {
      case .literal(let text): out += text
      case .field(let c, let count):
        switch c {
        case "y": count == 2 ? number(Int64(year) % 100, 2) : number(Int64(year), count)
        case "M":
          if count >= 4 {
            out += Self.months[month - 1]
          } else if count == 3 {
            out += Self.months[month - 1].prefix(3)
          } else {
            number(Int64(month), count)
          }
        case "d": number(Int64(day), count)
        case "H": number(msOfDay / 3_600_000, count)
        case "h":
          let h = msOfDay / 3_600_000 % 12
          number(h == 0 ? 12 : h, count)
        case "a": out += msOfDay < 43_200_000 ? "AM" : "PM"
        case "m": number(msOfDay / 60_000 % 60, count)
        case "s": number(msOfDay / 1000 % 60, count)
        case "S": number(msOfDay % 1000, count)
        case "E":
          let name = Self.weekdays[Int(Self.floorDivide(days, 7).1)]
          out += count >= 4 ? name : String(name.prefix(3))
        case "X": out += "Z"
        case "Z": out += "+0000"
        default: break
        }
      }
    }
    return out
  }

  // MARK: - Parsing

  /// The time `text` names, in milliseconds since the epoch; nil when it does not match. As
  /// Java's `parse(String)`, text after the pattern is ignored.
  func parse(_ text: String) -> Int64? {
    let chars = Array(text)
    var i = 0
    var year: Int64 = 1970
    var month: Int64 = 1
    var day: Int64 = 1
    var hour: Int64 = 0
    var hour12: Int64?
    var pm: Bool?
    var minute: Int64 = 0
    var second: Int64 = 0
    var millis: Int64 = 0
    var offset: Int64 = 0
    // At most `max` digits (9 when the field's width is free, which keeps the sums in range).
    func digits(max: Int?) -> (Int64, Int)? {
      var n: Int64 = 0
      var used = 0
      while i < chars.count, let d = chars[i].wholeNumberValue, chars[i].isASCII,
        used < min(max ?? 9, 9)
      {
        n = n * 10 + Int64(d)
        used += 1
        i += 1
      }
      return used == 0 ? nil : (n, used)
    }
    func word(_ names: [String], prefix: Int?) -> Int? {
      for (index, name) in names.enumerated() {
        let candidate = prefix.map { String(name.prefix($0)) } ?? name
        let end = i + candidate.count
        if end <= chars.count, String(chars[i..<end]).lowercased() == candidate.lowercased() {
          i = end
          return index
        }
      }
      return nil
    }
    for (index, token) in tokens.enumerated() {
      // A numeric field followed straight by another takes exactly its width.
      var width: Int?
      if index + 1 < tokens.count, case .field(let next, _) = tokens[index + 1],
        "yMdHhmsS".contains(next)
      {
        if case .field(_, let count) = token { width = count }
      }
      switch token {
      case .literal(let literal):
        let end = i + literal.count
        guard end <= chars.count, String(chars[i..<end]) == literal else { return nil }
        i = end
      case .field(let c, let count):
        switch c {
        case "y":
          guard let (n, used) = digits(max: width) else { return nil }
          year = count == 2 && used == 2 ? 2000 + n : n
        case "M":
          if count >= 3 {
            guard let m = word(Self.months, prefix: count == 3 ? 3 : nil) else { return nil }
            month = Int64(m + 1)
          } else {
            guard let (n, _) = digits(max: width ?? 2) else { return nil }
            month = n
          }
        case "d":
          guard let (n, _) = digits(max: width ?? 2) else { return nil }
          day = n
        case "H":
          guard let (n, _) = digits(max: width ?? 2) else { return nil }
          hour = n
        case "h":
          guard let (n, _) = digits(max: width ?? 2) else { return nil }
          hour12 = n
        case "m":
          guard let (n, _) = digits(max: width ?? 2) else { return nil }
          minute = n
        case "s":
          guard let (n, _) = digits(max: width ?? 2) else { return nil }
          second = n
        case "S":
          guard let (n, _) = digits(max: width) else { return nil }
          millis = n
        case "a":
          guard let which = word(["AM", "PM"], prefix: nil) else { return nil }
          pm = which == 1
        case "E":
          guard word(Self.weekdays, prefix: count >= 4 ? nil : 3) != nil else { return nil }
        case "X", "Z":
          guard let zone = parseOffset(chars, &i) else { return nil }
          offset = zone
        default: return nil
        }
      }
    }
    if let hour12 {
      guard (1...12).contains(hour12) else { return nil }
      hour = hour12 % 12 + ((pm ?? false) ? 12 : 0)
    } else if pm == true, hour < 12 {
      hour += 12
    }
    guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
      (0...59).contains(minute), (0...60).contains(second)
    else { return nil }
    let days = Self.days(year: year, month: month, day: day)
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
    let (result, overflow) = seconds.multipliedReportingOverflow(by: 1000)
    let (sum, overflowed) = result.addingReportingOverflow(millis)
    guard !overflow, !overflowed else { return nil }
    return sum
  }

  /// `Z`, or `±HH`, `±HHMM`, `±HH:MM`: seconds east of UTC.
  private func parseOffset(_ chars: [Character], _ i: inout Int) -> Int64? {
    guard i < chars.count else { return nil }
    if chars[i] == "Z" {
      i += 1
      return 0
    }
    guard chars[i] == "+" || chars[i] == "-" else { return nil }
    let sign: Int64 = chars[i] == "-" ? -1 : 1
    var j = i + 1
    func two() -> Int64? {
      guard j + 2 <= chars.count, let a = chars[j].wholeNumberValue,
        let b = chars[j + 1].wholeNumberValue
      else { return nil }
      j += 2
      return Int64(a * 10 + b)
    }
    guard let hours = two() else { return nil }
    var minutes: Int64 = 0
    if j < chars.count, chars[j] == ":" {
      j += 1
      guard let m = two() else { return nil }
      minutes = m
    } else if j < chars.count, chars[j].isNumber {
      guard let m = two() else { return nil }
      minutes = m
    }
    i = j
    return sign * (hours * 3600 + minutes * 60)
  }

  // MARK: - Calendar arithmetic (proleptic Gregorian, UTC)

  static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
    var q = a / b
    var r = a % b
    if r < 0 {
      q -= 1
      r += b
    }
    return (q, r)
  }

  /// Days since 1970-01-01 of a date.
  static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = floorDivide(y, 400).0
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  /// The date of a day since 1970-01-01.
  static func civil(_ days: Int64) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = floorDivide(z, 146_097).0
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    return (Int(year), Int(month), Int(day))
  }
}
