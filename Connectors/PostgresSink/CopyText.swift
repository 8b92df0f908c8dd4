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
    if let text = debeziumText(value, for: column.encoding) {
      appendEscaped(Array(text.utf8)[...])
      return
    }
    switch (value.kind, column.encoding) {
    case (.string, .json):
      // Debezium sends json and jsonb as a string holding the document.
      let text = JSONObjectReader.string(value.bytes, value.range) ?? ""
      if JSONValidator.isValid(Array(text.utf8)) {
        appendEscaped(Array(text.utf8)[...])
      } else {
        appendEscaped(value.raw)
      }
    case (_, .json):
      appendEscaped(value.raw)
    case (.string, .bytea):
      appendBytea(value)
    case (.string, _):
      let inner = value.range.dropFirst().dropLast()
      if !value.bytes[inner].contains(0x5C) {
        // No escapes: JSON forbids raw control characters, so the bytes are COPY-safe as they are.
        bytes += value.bytes[inner]
        return
      }
      appendEscaped(Array((JSONObjectReader.string(value.bytes, value.range) ?? "").utf8)[...])
    case (.array, .array):
      var literal: [UInt8] = []
      Self.arrayLiteral(value.bytes, value.range, into: &literal)
      appendEscaped(literal[...])
    default:
      // Numbers and booleans as written; objects and arrays as JSON text.
      appendEscaped(value.raw)
    }
  }

  /// The column's text of a value in one of Debezium's encodings (days, epoch milli- or
  /// microseconds, Connect Decimals); nil for values the other cases write as they are.
  private func debeziumText(_ value: FieldValue, for encoding: TableColumn.Encoding) -> String? {
    func integer() -> Int64? {
      value.kind == .number ? Int64(String(decoding: value.raw, as: UTF8.self)) : nil
    }
    func decimal(scale: Int) -> String? {
      guard value.kind == .string, let text = JSONObjectReader.string(value.bytes, value.range),
        !DebeziumValueText.isDecimalText(text)
      else { return nil }
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
    default:
      return nil
    }
  }

  /// Debezium sends bytea as base64; COPY takes `\x` and hex digits (its backslash escaped).
  private mutating func appendBytea(_ value: FieldValue) {
    let text = JSONObjectReader.string(value.bytes, value.range) ?? ""
    guard !text.hasPrefix("\\x"), let data = Data(base64Encoded: text) else {
      appendEscaped(Array(text.utf8)[...])
      return
    }
    bytes += [0x5C, 0x5C, UInt8(ascii: "x")]
    let digits = Array("0123456789abcdef".utf8)
    for byte in data {
      bytes.append(digits[Int(byte >> 4)])
      bytes.append(digits[Int(byte & 0x0F)])
    }
  }

  private mutating func appendEscaped(_ text: ArraySlice<UInt8>) {
    for byte in text {
      switch byte {
      case 0x5C: bytes += [0x5C, 0x5C]
      case 0x0A: bytes += [0x5C, UInt8(ascii: "n")]
      case 0x0D: bytes += [0x5C, UInt8(ascii: "r")]
      case 0x09: bytes += [0x5C, UInt8(ascii: "t")]
      default: bytes.append(byte)
      }
    }
  }

  /// A JSON array as a PostgreSQL array literal: `[1, "a b", null]` → `{1,"a b",NULL}`.
  static func arrayLiteral(_ bytes: [UInt8], _ range: Range<Int>, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "{"))
    for (i, element) in (JSONObjectReader.elements(of: bytes, in: range) ?? []).enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      switch element.kind {
      case .null: out += Array("NULL".utf8)
      case .array: arrayLiteral(bytes, element.value, into: &out)
      case .number, .bool: out += bytes[element.value]
      case .string, .object:
        let text =
          element.kind == .string
          ? Array((JSONObjectReader.string(bytes, element.value) ?? "").utf8)
          : Array(bytes[element.value])
        out.append(UInt8(ascii: "\""))
        for byte in text {
          if byte == UInt8(ascii: "\"") || byte == 0x5C { out.append(0x5C) }
          out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
      }
    }
    out.append(UInt8(ascii: "}"))
  }
}
