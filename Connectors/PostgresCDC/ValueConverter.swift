import Foundation

/// Turns a column's text (pgoutput sends values in their text output form) into the JSON value
/// Debezium-style consumers expect, by the column's type OID: numbers for integers and floats,
/// exact numerics as strings, JSON as JSON, bytea as base64, times as ISO-8601, arrays as
/// JSON arrays. Types it does not know are strings, so no value is ever lost.
enum ValueConverter {
  /// Debezium's placeholder for an unchanged TOAST value the server did not send.
  static let unavailable = "__debezium_unavailable_value"

  /// How a type's values are written.
  enum Kind: Equatable {
    case integer, float, numeric, bool, json, bytea, timestamp, timestamptz, timetz, text
    indirect case array(of: Kind)
  }

  static func kind(of oid: UInt32) -> Kind {
    switch oid {
    case 20, 21, 23, 26: .integer  // int8, int2, int4, oid
    case 700, 701: .float
    case 1700: .numeric
    case 16: .bool
    case 114, 3802: .json
    case 17: .bytea
    case 1114: .timestamp
    case 1184: .timestamptz
    case 1266: .timetz
    // Arrays of the types above, then of text-like ones.
    case 1016, 1005, 1007, 1028: .array(of: .integer)
    case 1021, 1022: .array(of: .float)
    case 1231: .array(of: .numeric)
    case 1000: .array(of: .bool)
    case 199, 3807: .array(of: .json)
    case 1001: .array(of: .bytea)
    case 1115: .array(of: .timestamp)
    case 1185: .array(of: .timestamptz)
    case 1270: .array(of: .timetz)
    case 1009, 1015, 1014, 1002, 1003, 2951, 1182, 1183, 1187, 143: .array(of: .text)
    default: .text  // text, varchar, uuid, date, time, interval, enums, user types…
    }
  }

  /// Writes `text` (a value's text form) as JSON of `kind`.
  static func write<C: Collection<UInt8>>(_ text: C, as kind: Kind, to out: inout JSONWriter)
  where C.Index == Int {
    switch kind {
    case .integer:
      if isInteger(text) { out.raw(text) } else { out.string(utf8: text) }
    case .float:
      // NaN and ±Infinity have no JSON number; Debezium's JSON converter writes them as text.
      if isInteger(text) || text.contains(UInt8(ascii: ".")) || text.contains(UInt8(ascii: "e")),
        !text.contains(UInt8(ascii: "I")), !text.contains(UInt8(ascii: "N"))
      {
        out.raw(text)
      } else {
        out.string(utf8: text)
      }
    case .bool:
      out.raw(text.first == UInt8(ascii: "t") ? "true" : "false")
    case .json:
      out.raw(text)
    case .bytea:
      out.string(bytea(text))
    case .timestamp, .timestamptz, .timetz:
      writeTime(text, as: kind, to: &out)
    case .numeric, .text:
      out.string(utf8: text)
    case .array(let element):
      var parser = ArrayLiteralParser(bytes: Array(text))
      if let value = parser.parse() {
        write(value, element: element, to: &out)
      } else {
        out.string(utf8: text)
      }
    }
  }

  private static func write(
    _ value: ArrayLiteralParser.Value, element: Kind, to out: inout JSONWriter
  ) {
    switch value {
    case .null: out.null()
    case .element(let text): write(text, as: element, to: &out)
    case .array(let items):
      out.byte("[")
      for (i, item) in items.enumerated() {
        if i > 0 { out.byte(",") }
        write(item, element: element, to: &out)
      }
      out.byte("]")
    }
  }

  private static func isInteger<C: Collection<UInt8>>(_ text: C) -> Bool {
    guard !text.isEmpty else { return false }
    for (i, c) in text.enumerated() {
      if c == UInt8(ascii: "-") && i == 0 && text.count > 1 { continue }
      if c < UInt8(ascii: "0") || c > UInt8(ascii: "9") { return false }
    }
    return true
  }

  /// `\x0a0b` (bytea's hex output) as base64; anything else as the base64 of its bytes.
  private static func bytea<C: Collection<UInt8>>(_ text: C) -> String {
    let chars = Array(text)
    guard chars.count >= 2, chars[0] == UInt8(ascii: "\\"), chars[1] == UInt8(ascii: "x"),
      chars.count % 2 == 0
    else { return Data(chars).base64EncodedString() }
    var data = Data(capacity: (chars.count - 2) / 2)
    var i = 2
    while i < chars.count {
      guard let high = hexDigit(chars[i]), let low = hexDigit(chars[i + 1]) else {
        return Data(chars).base64EncodedString()
      }
      data.append(high << 4 | low)
      i += 2
    }
    return data.base64EncodedString()
  }

  private static func hexDigit(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
  }

  /// Dates and times as ISO-8601 strings, written in place (no copy of the value):
  /// `2026-11-25 10:00:00.5` → `2026-11-25T10:00:00.5` (ISO DateStyle puts a space there), and
  /// for values with an offset (timestamptz, timetz) `+00` → `Z`, `+05` → `+05:00` (PostgreSQL
  /// omits zero minutes). Values without an offset (`infinity`) are left as they are.
  private static func writeTime<C: Collection<UInt8>>(
    _ text: C, as kind: Kind, to out: inout JSONWriter
  ) where C.Index == Int {
    let start = text.startIndex
    let end = text.endIndex
    // The date and time are separated by `T`.
    var separator: Int?
    if kind != .timetz, text.count > 10, text[start + 10] == UInt8(ascii: " "),
      text[start + 4] == UInt8(ascii: "-")
    {
      separator = start + 10
    }
    // The offset's sign comes after the time's first colon, as its last `+` or `-`.
    var cut = end  // where the text stops: before an offset of zero
    var suffix: StaticString = ""
    if kind != .timestamp, let colon = text.firstIndex(of: UInt8(ascii: ":")),
      let sign = lastSign(in: text, from: colon)
    {
      let offset = text[(sign + 1)...]
      if offset.elementsEqual("00".utf8) || offset.elementsEqual("00:00".utf8) {
        cut = sign
        suffix = "Z"
      } else if offset.count == 2 {
        suffix = ":00"
      }
    }
    out.bytes.append(UInt8(ascii: "\""))
    if let separator, separator < cut {
      out.stringContent(utf8: text[start..<separator])
      out.bytes.append(UInt8(ascii: "T"))
      out.stringContent(utf8: text[(separator + 1)..<cut])
    } else {
      out.stringContent(utf8: text[start..<cut])
    }
    suffix.withUTF8Buffer { out.bytes.append(contentsOf: $0) }
    out.bytes.append(UInt8(ascii: "\""))
  }

  /// The index of the last `+` or `-` at or after `start`.
  private static func lastSign<C: Collection<UInt8>>(in text: C, from start: Int) -> Int?
  where C.Index == Int {
    var found: Int?
    var i = start
    while i < text.endIndex {
      if text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") { found = i }
      i += 1
    }
    return found
  }
}

/// Parses PostgreSQL's array output (`{1,2,NULL}`, `{"a b","c\"d"}`, `{{1,2},{3,4}}`,
/// `[0:1]={1,2}`); nil when the text is not such a literal.
struct ArrayLiteralParser {
  indirect enum Value: Equatable {
    case null
    case element([UInt8])
    case array([Value])
  }

  let bytes: [UInt8]
  var index = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  mutating func parse() -> Value? {
    // Explicit bounds (`[0:1]=`) come before the braces; the values are what matters.
    if bytes.first == UInt8(ascii: "["), let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
      index = equals + 1
    }
    guard let value = parseArray(), index == bytes.count else { return nil }
    return value
  }

  private mutating func parseArray() -> Value? {
    guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
    index += 1
    var items: [Value] = []
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return .array(items)
    }
    while index < bytes.count {
      if bytes[index] == UInt8(ascii: "{") {
        guard let nested = parseArray() else { return nil }
        items.append(nested)
      } else if bytes[index] == UInt8(ascii: "\"") {
        index += 1
        var text: [UInt8] = []
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
          if bytes[index] == UInt8(ascii: "\\") { index += 1 }
          guard index < bytes.count else { return nil }
          text.append(bytes[index])
          index += 1
        }
        guard index < bytes.count else { return nil }
        index += 1
        items.append(.element(text))
      } else {
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: ","),
          bytes[index] != UInt8(ascii: "}")
        {
          index += 1
        }
        let text = Array(bytes[start..<index])
        items.append(text == Array("NULL".utf8) ? .null : .element(text))
      }
      guard index < bytes.count else { return nil }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
      } else if bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .array(items)
      } else {
        return nil
      }
    }
    return nil
  }
}
