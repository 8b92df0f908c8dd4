import SluiceCore

/// Turns a column's text (pgoutput and the snapshot's cursor send values in their text output
/// form) into the JSON Debezium's PostgreSQL connector writes for it under the same options,
/// as Kafka Connect's JSON converter (schemas off) prints it. Each family of types has its own
/// file: ``NumericConversion``, ``TemporalConversion``, ``IntervalConversion``,
/// ``BinaryConversion``, ``GeometryConversion``, ``HstoreConversion``. Types Debezium writes
/// as strings (text, char(n) with its padding, uuid, xml, inet, cidr, macaddr, enums, ltree,
/// tsvector…) and types it does not know are the text as it is, so no value is ever lost.
enum ValueConverter {
  /// Debezium's placeholder for an unchanged TOAST value the server did not send.
  static let unavailable = "__debezium_unavailable_value"

  typealias Kind = ColumnKind

  static func kind(
    of oid: UInt32, modifier: Int32 = -1, userTypes: [UInt32: UserType] = [:]
  ) -> Kind {
    ColumnKind.of(oid, modifier: modifier, userTypes: userTypes)
  }

  /// Writes `text` (a value's text form) as JSON of `kind`.
  static func write<C: Collection<UInt8>>(
    _ text: C, as kind: Kind, options: ValueConversionOptions = .debezium,
    to out: inout JSONWriter
  ) where C.Index == Int {
    switch kind {
    case .integer:
      if isInteger(text) { out.raw(text) } else { out.string(utf8: text) }
    case .float:
      // NaN and ±Infinity have no JSON number; Jackson writes them as strings, as PostgreSQL
      // spells them. Other values are PostgreSQL's shortest round-trip digits.
      if isFloatNumber(text) { out.raw(text) } else { out.string(utf8: text) }
    case .bool:
      out.raw(text.first == UInt8(ascii: "t") ? "true" : "false")
    case .json:
      // io.debezium.data.Json: the document as text.
      out.string(utf8: text)
    case .bytea:
      BinaryConversion.writeBytea(text, mode: options.binary, to: &out)
    case .numeric(let scale):
      NumericConversion.writeNumeric(text, scale: scale, mode: options.decimal, to: &out)
    case .money:
      NumericConversion.writeMoney(text, mode: options.decimal, to: &out)
    case .date:
      TemporalConversion.writeDate(text, mode: options.time, to: &out)
    case .time(let precision):
      TemporalConversion.writeTime(text, precision: precision, mode: options.time, to: &out)
    case .timetz:
      TemporalConversion.writeZonedTime(text, to: &out)
    case .timestamp(let precision):
      TemporalConversion.writeTimestamp(text, precision: precision, mode: options.time, to: &out)
    case .zonedTimestamp(let precision):
      TemporalConversion.writeZonedTimestamp(text, precision: precision, to: &out)
    case .interval:
      IntervalConversion.write(text, mode: options.interval, to: &out)
    case .bit(let length):
      BinaryConversion.writeBits(text, length: length, to: &out)
    case .varbit:
      BinaryConversion.writeBits(text, length: nil, to: &out)
    case .point:
      GeometryConversion.writePoint(text, to: &out)
    case .hstore:
      HstoreConversion.write(text, mode: options.hstore, to: &out)
    case .text:
      out.string(utf8: text)
    case .array(let element):
      var parser = ArrayLiteralParser(bytes: Array(text))
      if let value = parser.parse() {
        write(value, element: element, options: options, to: &out)
      } else {
        out.string(utf8: text)
      }
    }
  }

  /// Debezium's placeholder for an unchanged TOAST value, in the form the column's values
  /// have: bytes (bytea) encoded as the binary mode says, a one-element list for arrays, the
  /// string itself otherwise.
  static func writeUnavailable(
    as kind: Kind, options: ValueConversionOptions = .debezium, to out: inout JSONWriter
  ) {
    switch kind {
    case .bytea:
      out.string(BinaryConversion.encode(Array(unavailable.utf8), mode: options.binary))
    case .array(let element):
      out.byte("[")
      writeUnavailable(as: element, options: options, to: &out)
      out.byte("]")
    case .hstore where options.hstore == .map:
      out.byte("{")
      out.key(unavailable)
      out.string(unavailable)
      out.byte("}")
    default:
      out.string(unavailable)
    }
  }

  private static func write(
    _ value: ArrayLiteralParser.Value, element: Kind, options: ValueConversionOptions,
    to out: inout JSONWriter
  ) {
    switch value {
    case .null: out.null()
    case .element(let text): write(text, as: element, options: options, to: &out)
    case .array(let items):
      out.byte("[")
      for (i, item) in items.enumerated() {
        if i > 0 { out.byte(",") }
        write(item, element: element, options: options, to: &out)
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

  /// Whether PostgreSQL's float text is a JSON number (not NaN or an infinity).
  private static func isFloatNumber<C: Collection<UInt8>>(_ text: C) -> Bool {
    guard let first = text.first, first != UInt8(ascii: "N"), first != UInt8(ascii: "I"),
      !text.contains(UInt8(ascii: "I"))
    else { return false }
    return text.allSatisfy {
      ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
        || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e")
        || $0 == UInt8(ascii: "E")
    }
  }
}
