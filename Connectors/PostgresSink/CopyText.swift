import Foundation
import SluiceCore

/// Rows in the text format of `COPY … FROM STDIN`: columns separated by tabs, rows ended by
/// newlines, NULL as `\N`, and backslash, tab, newline and carriage return escaped.
///
/// Values travel as data, never as SQL text, so nothing in a record can change a statement.
struct CopyText {
  private(set) var bytes: [UInt8] = []

  init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

  /// Appends one row: `values[i]` goes to `columns[i]`.
  mutating func appendRow(_ values: [FieldValue], columns: [TableColumn]) {
    for (i, value) in values.enumerated() {
      if i > 0 { bytes.append(0x09) }
      guard value.kind != .null else {
        bytes += [0x5C, UInt8(ascii: "N")]
        continue
      }
      append(value, for: columns[i])
    }
    bytes.append(0x0A)
  }

  private mutating func append(_ value: FieldValue, for column: TableColumn) {
    Self.write(value, for: column.encoding, into: &bytes, copyEscaped: true)
  }

  /// The column's text of a non-null value, unescaped: what PostgreSQL's input function for
  /// the column reads (an array element's text, a default's).
  static func text(of value: FieldValue, for encoding: TableColumn.Encoding) -> [UInt8] {
    var out: [UInt8] = []
    write(value, for: encoding, into: &out, copyEscaped: false)
    return out
  }

  /// Appends the column's text of `value`, escaped for COPY when `copyEscaped`.
  private static func write(
    _ value: FieldValue, for encoding: TableColumn.Encoding, into out: inout [UInt8],
    copyEscaped: Bool
  ) {
    func put<S: Sequence<UInt8>>(_ text: S) {
      if copyEscaped { appendEscaped(text, into: &out) } else { out += text }
    }
    if let text = debeziumText(value, for: encoding) {
      put(text.utf8)
      return
    }
    switch (value.kind, encoding) {
    case (.string, .json):
      // Debezium sends json and jsonb as a string holding the document.
      let text = JSONObjectReader.string(value.bytes, value.range) ?? ""
      if JSONValidator.isValid(Array(text.utf8)) { put(text.utf8) } else { put(value.raw) }
    case (_, .json):
      put(value.raw)
    case (.string, .bytea):
      // Debezium sends bytea as base64; PostgreSQL reads `\x` and hex digits.
      let text = JSONObjectReader.string(value.bytes, value.range) ?? ""
      guard !text.hasPrefix("\\x"), let data = Data(base64Encoded: text) else {
        put(text.utf8)
        return
      }
      put([0x5C, UInt8(ascii: "x")])
      let digits = Array("0123456789abcdef".utf8)
      for byte in data {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
      }
    case (.string, _):
      let inner = value.range.dropFirst().dropLast()
      if !value.bytes[inner].contains(0x5C) {
        // No escapes: JSON forbids raw control characters, so the bytes are COPY-safe as they are.
        out += value.bytes[inner]
        return
      }
      put((JSONObjectReader.string(value.bytes, value.range) ?? "").utf8)
    case (.array, .array(let element)):
      var literal: [UInt8] = []
      arrayLiteral(value.bytes, value.range, element: element, into: &literal)
      put(literal)
    default:
      // Numbers and booleans as written; objects and arrays as JSON text.
      put(value.raw)
    }
  }

  /// The column's text of a value in one of Debezium's encodings (days, epoch milli- or
  /// microseconds, Connect Decimals, Bits, Point, a map for hstore); nil for values the
  /// other cases write as they are.
  private static func debeziumText(_ value: FieldValue, for encoding: TableColumn.Encoding)
    -> String?
  {
    func integer() -> Int64? {
      value.kind == .number ? Int64(String(decoding: value.raw, as: UTF8.self)) : nil
    }
    func string() -> String? {
      value.kind == .string ? JSONObjectReader.string(value.bytes, value.range) : nil
    }
    func decimal(scale: Int) -> String? {
      guard let text = string(), !DebeziumValueText.isDecimalText(text) else { return nil }
      return DebeziumValueText.decimal(base64: text, scale: scale)
    }
    switch encoding {
    case .date:
      return integer().map(DebeziumValueText.date(days:))
    case .time(let millis):
      return integer().map { DebeziumValueText.time(micros: millis ? $0 * 1000 : $0) }
    case .timestamp(let millis):
      return integer().map {
        DebeziumValueText.infinity(epoch: $0, millis: millis)
          ?? DebeziumValueText.timestamp(micros: millis ? $0 * 1000 : $0)
      }
    case .interval:
      return integer().map { "\($0) microseconds" }
    case .money:
      return decimal(scale: 2)
    case .numeric(let scale):
      if value.kind == .object,
        let members = JSONObjectReader.members(of: value.bytes, in: value.range),
        let scaleMember = members.first(where: { $0.name == "scale" }),
        let scale = Int(String(decoding: value.bytes[scaleMember.value], as: UTF8.self)),
        let unscaled = members.first(where: { $0.name == "value" }),
        let text = JSONObjectReader.string(value.bytes, unscaled.value)
      {
        return DebeziumValueText.decimal(base64: text, scale: scale)
      }
      return decimal(scale: scale ?? 0)
    case .bits(let length, let varying):
      // Debezium's bit(1) is a boolean; a bit string (`0101`) that fits the column is
      // PostgreSQL's own text. Bits for bit(n) are at most ⌈n/8⌉ bytes, whose base64 is
      // shorter than n or ends in `=`, so never taken for n bits; for `bit varying` a base64
      // text made only of 0 and 1 (rare, and a length divisible by 4) is read as bits.
      if value.kind == .bool {
        return value.bytes[value.range.lowerBound] == UInt8(ascii: "t") ? "1" : "0"
      }
      guard let text = string(),
        !DebeziumValueText.isBitText(text, length: length, varying: varying)
      else { return nil }
      return DebeziumValueText.bits(base64: text, length: varying ? nil : length)
    case .point:
      return point(value)
    case .hstore:
      return hstore(value)
    default:
      return nil
    }
  }

  /// `(x,y)` of Debezium's Point (`{x, y, wkb, srid}`); nil for anything else.
  private static func point(_ value: FieldValue) -> String? {
    guard value.kind == .object,
      let members = JSONObjectReader.members(of: value.bytes, in: value.range)
    else { return nil }
    func coordinate(_ name: String) -> String? {
      guard let member = members.first(where: { $0.name == name }) else { return nil }
      switch member.kind {
      case .number: return String(decoding: value.bytes[member.value], as: UTF8.self)
      case .string: return JSONObjectReader.string(value.bytes, member.value)
      default: return nil
      }
    }
    if let x = coordinate("x"), let y = coordinate("y") {
      return DebeziumValueText.point(x: x, y: y)
    }
    guard let wkb = coordinate("wkb"), let (x, y) = DebeziumValueText.point(wkb: wkb) else {
      return nil
    }
    return DebeziumValueText.point(x: "\(x)", y: "\(y)")
  }

  /// hstore's text of a Connect map (`map` mode: an object of strings) or of a string holding
  /// one as JSON (`json` mode); nil for anything else, such as hstore's own text.
  private static func hstore(_ value: FieldValue) -> String? {
    var bytes = value.bytes
    var range = value.range
    if value.kind == .string {
      guard let text = JSONObjectReader.string(value.bytes, value.range),
        text.first(where: { !$0.isWhitespace }) == "{"
      else { return nil }
      bytes = Array(text.utf8)
      range = 0..<bytes.count
    } else if value.kind != .object {
      return nil
    }
    guard let members = JSONObjectReader.members(of: bytes, in: range) else { return nil }
    return DebeziumValueText.hstore(
      members.map { member in
        switch member.kind {
        case .null: (member.name, nil)
        case .string: (member.name, JSONObjectReader.string(bytes, member.value))
        default: (member.name, String(decoding: bytes[member.value], as: UTF8.self))
        }
      })
  }

  private static func appendEscaped<S: Sequence<UInt8>>(_ text: S, into out: inout [UInt8]) {
    for byte in text {
      switch byte {
      case 0x5C: out += [0x5C, 0x5C]
      case 0x0A: out += [0x5C, UInt8(ascii: "n")]
      case 0x0D: out += [0x5C, UInt8(ascii: "r")]
      case 0x09: out += [0x5C, UInt8(ascii: "t")]
      default: out.append(byte)
      }
    }
  }

  /// A JSON array as a PostgreSQL array literal, its elements as `element` encodes them:
  /// `[1, "a b", null]` → `{1,"a b",NULL}`, Debezium's `[19000, 19001]` for `date[]` →
  /// `{"2022-01-08","2022-01-09"}`.
  static func arrayLiteral(
    _ bytes: [UInt8], _ range: Range<Int>, element: TableColumn.Encoding,
    into out: inout [UInt8]
  ) {
    out.append(UInt8(ascii: "{"))
    for (i, item) in (JSONObjectReader.elements(of: bytes, in: range) ?? []).enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      let value = FieldValue(column: "", bytes: bytes, range: item.value, kind: item.kind)
      switch item.kind {
      case .null: out += Array("NULL".utf8)
      case .array: arrayLiteral(bytes, item.value, element: element, into: &out)
      case .number where debeziumText(value, for: element) == nil,
        .bool where debeziumText(value, for: element) == nil:
        out += bytes[item.value]
      default:
        out.append(UInt8(ascii: "\""))
        for byte in text(of: value, for: element) {
          if byte == UInt8(ascii: "\"") || byte == 0x5C { out.append(0x5C) }
          out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
      }
    }
    out.append(UInt8(ascii: "}"))
  }
}
