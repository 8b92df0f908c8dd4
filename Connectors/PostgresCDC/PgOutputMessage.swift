/// One message of PostgreSQL's `pgoutput` logical decoding plugin, protocol version 1.
enum PgOutputMessage: Equatable {
  case begin(Begin)
  case commit(Commit)
  case relation(Relation)
  /// `Y`: a user-defined type's name; Sluice renders such values as text.
  case type(oid: UInt32, schema: String, name: String)
  case insert(relation: UInt32, new: [TupleValue])
  /// `old` holds the key columns (`K`, REPLICA IDENTITY DEFAULT/INDEX when the key changed) or
  /// the whole old row (`O`, REPLICA IDENTITY FULL); nil when the server sent neither.
  case update(relation: UInt32, old: OldTuple?, new: [TupleValue])
  case delete(relation: UInt32, old: OldTuple)
  case truncate(relations: [UInt32], cascade: Bool, restartIdentity: Bool)
  case origin(lsn: LSN, name: String)
  /// `M` (with `messages 'true'`): a `pg_logical_emit_message` inside a transaction.
  case message(transactional: Bool, lsn: LSN, prefix: String, content: [UInt8])

  /// `B`: a transaction starts; `finalLSN` is the LSN of its commit record.
  struct Begin: Equatable {
    var finalLSN: LSN
    /// Microseconds since 2000-01-01.
    var commitTime: Int64
    var xid: UInt32
  }

  /// `C`: a transaction ends; `endLSN` is just past its commit record.
  struct Commit: Equatable {
    var commitLSN: LSN
    var endLSN: LSN
    var commitTime: Int64
  }

  /// `R`: the shape of a table, sent before its first change in a session and after DDL.
  struct Relation: Equatable {
    var oid: UInt32
    var schema: String
    var name: String
    /// `d` default, `n` nothing, `f` full, `i` index.
    var replicaIdentity: UInt8
    var columns: [Column]
  }

  struct Column: Equatable {
    var name: String
    var typeOID: UInt32
    var typeModifier: Int32
    /// Part of the replica identity (the key for REPLICA IDENTITY DEFAULT).
    var isKey: Bool
  }

  /// The old row of an update or delete, as the replica identity says.
  enum OldTuple: Equatable {
    case key([TupleValue])
    case full([TupleValue])

    var values: [TupleValue] {
      switch self {
      case .key(let values), .full(let values): values
      }
    }

    /// The whole old row, when the server sent one.
    var fullRow: [TupleValue]? {
      if case .full(let values) = self { return values }
      return nil
    }
  }

  /// One column of a row: NULL, an unchanged TOAST value the server did not send, or text.
  enum TupleValue: Equatable {
    case null
    case unchangedToast
    case text([UInt8])
  }

  // MARK: - Decoding

  static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> PgOutputMessage {
    try decode(bytes[...])
  }

  static func decode(_ bytes: ArraySlice<UInt8>) throws(ProtocolError) -> PgOutputMessage {
    var r = ByteReader(bytes)
    let kind = try r.byte()
    switch kind {
    case UInt8(ascii: "B"):
      return .begin(
        Begin(finalLSN: LSN(try r.uint64()), commitTime: try r.int64(), xid: try r.uint32()))
    case UInt8(ascii: "C"):
      _ = try r.byte()  // flags, unused
      return .commit(
        Commit(
          commitLSN: LSN(try r.uint64()), endLSN: LSN(try r.uint64()), commitTime: try r.int64()))
    case UInt8(ascii: "O"):
      return .origin(lsn: LSN(try r.uint64()), name: try r.cString())
    case UInt8(ascii: "R"):
      let oid = try r.uint32()
      let schema = try r.cString()
      let name = try r.cString()
      let identity = try r.byte()
      let count = Int(try r.uint16())
      var columns: [Column] = []
      columns.reserveCapacity(count)
      for _ in 0..<count {
        let flags = try r.byte()
        columns.append(
          Column(
            name: try r.cString(), typeOID: try r.uint32(), typeModifier: try r.int32(),
            isKey: flags & 1 != 0))
      }
      return .relation(
        Relation(oid: oid, schema: schema, name: name, replicaIdentity: identity, columns: columns))
    case UInt8(ascii: "Y"):
      return .type(oid: try r.uint32(), schema: try r.cString(), name: try r.cString())
    case UInt8(ascii: "I"):
      let relation = try r.uint32()
      guard try r.byte() == UInt8(ascii: "N") else {
        throw ProtocolError("insert without new tuple")
      }
      return .insert(relation: relation, new: try tuple(&r))
    case UInt8(ascii: "U"):
      let relation = try r.uint32()
      var old: OldTuple?
      var marker = try r.byte()
      if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
        let values = try tuple(&r)
        old = marker == UInt8(ascii: "K") ? .key(values) : .full(values)
        marker = try r.byte()
      }
      guard marker == UInt8(ascii: "N") else { throw ProtocolError("update without new tuple") }
      return .update(relation: relation, old: old, new: try tuple(&r))
    case UInt8(ascii: "D"):
      let relation = try r.uint32()
      let marker = try r.byte()
      guard marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else {
        throw ProtocolError("delete without old tuple")
      }
      let values = try tuple(&r)
      return .delete(
        relation: relation, old: marker == UInt8(ascii: "K") ? .key(values) : .full(values))
    case UInt8(ascii: "T"):
      let count = Int(try r.uint32())
      let options = try r.byte()
      guard count <= r.remaining else { throw ProtocolError("truncate lists too many tables") }
      var relations: [UInt32] = []
      for _ in 0..<count { relations.append(try r.uint32()) }
      return .truncate(
        relations: relations, cascade: options & 1 != 0, restartIdentity: options & 2 != 0)
    case UInt8(ascii: "M"):
      let flags = try r.byte()
      let lsn = LSN(try r.uint64())
      let prefix = try r.cString()
      let length = Int(try r.uint32())
      return .message(
        transactional: flags & 1 != 0, lsn: lsn, prefix: prefix, content: Array(try r.take(length)))
    default:
      throw ProtocolError("unknown pgoutput message '\(Character(Unicode.Scalar(kind)))'")
    }
  }

  // MARK: - Row changes in place

  /// Whether the message is an Insert, Update or Delete, which ``decodeRowChange(_:)`` reads
  /// without copying their values.
  static func isRowChange(_ bytes: ArraySlice<UInt8>) -> Bool {
    guard let kind = bytes.first else { return false }
    return kind == UInt8(ascii: "I") || kind == UInt8(ascii: "U") || kind == UInt8(ascii: "D")
  }

  /// An Insert, Update or Delete with its rows left in the message bytes: the same reading
  /// as ``decode(_:)``, without an allocation per value. The hot path of the stream.
  static func decodeRowChange(_ bytes: ArraySlice<UInt8>) throws(ProtocolError) -> RowChange {
    var r = ByteReader(bytes)
    switch try r.byte() {
    case UInt8(ascii: "I"):
      let relation = try r.uint32()
      guard try r.byte() == UInt8(ascii: "N") else {
        throw ProtocolError("insert without new tuple")
      }
      return .insert(relation: relation, new: try row(&r))
    case UInt8(ascii: "U"):
      let relation = try r.uint32()
      var old: RowChange.Old?
      var marker = try r.byte()
      if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
        old = RowChange.Old(row: try row(&r), isFull: marker == UInt8(ascii: "O"))
        marker = try r.byte()
      }
      guard marker == UInt8(ascii: "N") else { throw ProtocolError("update without new tuple") }
      return .update(relation: relation, old: old, new: try row(&r))
    case UInt8(ascii: "D"):
      let relation = try r.uint32()
      let marker = try r.byte()
      guard marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else {
        throw ProtocolError("delete without old tuple")
      }
      return .delete(
        relation: relation,
        old: RowChange.Old(row: try row(&r), isFull: marker == UInt8(ascii: "O")))
    case let kind:
      throw ProtocolError("not a row change: '\(Character(Unicode.Scalar(kind)))'")
    }
  }

  private static func row(_ r: inout ByteReader) throws(ProtocolError) -> Row {
    let count = Int(try r.uint16())
    var columns: [Row.Column] = []
    columns.reserveCapacity(count)
    for _ in 0..<count {
      switch try r.byte() {
      case UInt8(ascii: "n"): columns.append(.null)
      case UInt8(ascii: "u"): columns.append(.unchangedToast)
      case UInt8(ascii: "t"):
        let length = Int(try r.int32())
        let text = try r.take(length)
        columns.append(.text(text.startIndex..<text.endIndex))
      case let kind:
        throw ProtocolError("unknown tuple value kind '\(Character(Unicode.Scalar(kind)))'")
      }
    }
    return Row(bytes: r.bytes, columns: columns)
  }

  private static func tuple(_ r: inout ByteReader) throws(ProtocolError) -> [TupleValue] {
    let count = Int(try r.uint16())
    var values: [TupleValue] = []
    values.reserveCapacity(count)
    for _ in 0..<count {
      switch try r.byte() {
      case UInt8(ascii: "n"): values.append(.null)
      case UInt8(ascii: "u"): values.append(.unchangedToast)
      case UInt8(ascii: "t"):
        let length = Int(try r.int32())
        values.append(.text(Array(try r.take(length))))
      case let kind:
        throw ProtocolError("unknown tuple value kind '\(Character(Unicode.Scalar(kind)))'")
      }
    }
    return values
  }
}

/// A row as the stream reads it: its values left where they are in `bytes` (a message), each
/// column a range of it, so a change is turned into JSON without copying each value first.
struct Row {
  enum Column: Equatable {
    case null
    case unchangedToast
    case text(Range<Int>)
  }

  var bytes: ArraySlice<UInt8>
  var columns: [Column]

  init(bytes: ArraySlice<UInt8>, columns: [Column]) {
    self.bytes = bytes
    self.columns = columns
  }

  /// A decoded tuple's values gathered into one buffer (the path of decoded messages).
  init(_ values: [PgOutputMessage.TupleValue]) {
    var buffer: [UInt8] = []
    columns = values.map { value in
      switch value {
      case .null: return .null
      case .unchangedToast: return .unchangedToast
      case .text(let text):
        let start = buffer.count
        buffer += text
        return .text(start..<buffer.count)
      }
    }
    bytes = buffer[...]
  }

  var count: Int { columns.count }

  /// Whether column `i` was sent (not an unchanged TOAST value the server left out, nor NULL).
  func hasText(_ i: Int) -> Bool {
    if case .text = columns[i] { return true }
    return false
  }
}

/// An Insert, Update or Delete read in place (``PgOutputMessage/decodeRowChange(_:)``).
enum RowChange {
  /// The old row of an update or delete: the key columns or (`isFull`, REPLICA IDENTITY FULL)
  /// the whole row.
  struct Old {
    var row: Row
    var isFull: Bool
  }

  case insert(relation: UInt32, new: Row)
  case update(relation: UInt32, old: Old?, new: Row)
  case delete(relation: UInt32, old: Old)
}
