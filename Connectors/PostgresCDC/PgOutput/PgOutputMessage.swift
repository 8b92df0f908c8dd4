/// One message of PostgreSQL's `pgoutput` logical decoding plugin, protocol version 1.
///
/// Each message type and its decoder live in their own file of this folder; this one only
/// reads the type byte and hands the rest to that decoder.
enum PgOutputMessage: Equatable {
  case begin(Begin)
  case commit(Commit)
  case relation(Relation)
  /// `Y`: a user-defined type's name; Sluice renders such values as text.
  case type(TypeName)
  /// `I`, `U`, `D`: a row inserted, updated or deleted, read in place.
  case rowChange(RowChange)
  case truncate(Truncate)
  case origin(Origin)
  /// `M` (with `messages 'true'`): a `pg_logical_emit_message`.
  case message(LogicalMessage)

  static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> PgOutputMessage {
    try decode(bytes[...])
  }

  static func decode(_ bytes: ArraySlice<UInt8>) throws(ProtocolError) -> PgOutputMessage {
    if RowChange.isRowChange(bytes) { return .rowChange(try RowChange.decode(bytes)) }
    var r = ByteReader(bytes)
    let kind = try r.byte()
    switch kind {
    case UInt8(ascii: "B"): return .begin(try Begin(&r))
    case UInt8(ascii: "C"): return .commit(try Commit(&r))
    case UInt8(ascii: "R"): return .relation(try Relation(&r))
    case UInt8(ascii: "Y"): return .type(try TypeName(&r))
    case UInt8(ascii: "T"): return .truncate(try Truncate(&r))
    case UInt8(ascii: "O"): return .origin(try Origin(&r))
    case UInt8(ascii: "M"): return .message(try LogicalMessage(&r))
    default:
      throw ProtocolError("unknown pgoutput message '\(Character(Unicode.Scalar(kind)))'")
    }
  }
}
