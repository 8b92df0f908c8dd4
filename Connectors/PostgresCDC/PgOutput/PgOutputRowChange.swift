/// `I`, `U`, `D`: a row inserted, updated or deleted, its values left in the message bytes
/// (``Row``) so a change becomes JSON without an allocation per value — nearly all of the
/// stream is these.
enum RowChange: Equatable {
  /// The old row of an update or delete: the key columns (`K`, REPLICA IDENTITY DEFAULT or
  /// USING INDEX) or, `isFull`, the whole row (`O`, REPLICA IDENTITY FULL).
  struct Old: Equatable {
    var row: Row
    var isFull: Bool
  }

  case insert(relation: UInt32, new: Row)
  /// `old` is nil when the server sent neither the key nor the old row.
  case update(relation: UInt32, old: Old?, new: Row)
  case delete(relation: UInt32, old: Old)

  /// Whether the message is an Insert, Update or Delete.
  static func isRowChange(_ bytes: ArraySlice<UInt8>) -> Bool {
    guard let kind = bytes.first else { return false }
    return kind == UInt8(ascii: "I") || kind == UInt8(ascii: "U") || kind == UInt8(ascii: "D")
  }

  /// Decodes a whole Insert, Update or Delete message, type byte included.
  static func decode(_ bytes: ArraySlice<UInt8>) throws(ProtocolError) -> RowChange {
    var r = ByteReader(bytes)
    switch try r.byte() {
    case UInt8(ascii: "I"):
      let relation = try r.uint32()
      guard try r.byte() == UInt8(ascii: "N") else {
        throw ProtocolError("insert without new tuple")
      }
      return .insert(relation: relation, new: try Row(&r))
    case UInt8(ascii: "U"):
      let relation = try r.uint32()
      var old: Old?
      var marker = try r.byte()
      if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
        old = Old(row: try Row(&r), isFull: marker == UInt8(ascii: "O"))
        marker = try r.byte()
      }
      guard marker == UInt8(ascii: "N") else { throw ProtocolError("update without new tuple") }
      return .update(relation: relation, old: old, new: try Row(&r))
    case UInt8(ascii: "D"):
      let relation = try r.uint32()
      let marker = try r.byte()
      guard marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else {
        throw ProtocolError("delete without old tuple")
      }
      return .delete(
        relation: relation, old: Old(row: try Row(&r), isFull: marker == UInt8(ascii: "O")))
    case let kind:
      throw ProtocolError("not a row change: '\(Character(Unicode.Scalar(kind)))'")
    }
  }
}
