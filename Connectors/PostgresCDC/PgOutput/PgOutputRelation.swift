extension PgOutputMessage {
  /// `R`: the shape of a table, sent before its first change in a session and after DDL.
  struct Relation: Equatable {
    var oid: UInt32
    var schema: String
    var name: String
    /// `d` default, `n` nothing, `f` full, `i` index.
    var replicaIdentity: UInt8
    var columns: [Column]
  }

  /// One column of a ``Relation``.
  struct Column: Equatable {
    var name: String
    var typeOID: UInt32
    var typeModifier: Int32
    /// Part of the replica identity (the key for REPLICA IDENTITY DEFAULT).
    var isKey: Bool
  }
}

extension PgOutputMessage.Relation {
  /// Reads the body after the type byte.
  init(_ r: inout ByteReader) throws(ProtocolError) {
    let oid = try r.uint32()
    let schema = try r.cString()
    let name = try r.cString()
    let identity = try r.byte()
    let count = Int(try r.uint16())
    var columns: [PgOutputMessage.Column] = []
    columns.reserveCapacity(count)
    for _ in 0..<count {
      let flags = try r.byte()
      columns.append(
        PgOutputMessage.Column(
          name: try r.cString(), typeOID: try r.uint32(), typeModifier: try r.int32(),
          isKey: flags & 1 != 0))
    }
    self.init(oid: oid, schema: schema, name: name, replicaIdentity: identity, columns: columns)
  }
}
