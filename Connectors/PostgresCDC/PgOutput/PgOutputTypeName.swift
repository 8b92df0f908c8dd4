extension PgOutputMessage {
  /// `Y`: the name of a type created in the database, sent before a Relation that uses it.
  struct TypeName: Equatable {
    var oid: UInt32
    var schema: String
    var name: String
  }
}

extension PgOutputMessage.TypeName {
  /// Reads the body after the type byte.
  init(_ r: inout ByteReader) throws(ProtocolError) {
    self.init(oid: try r.uint32(), schema: try r.cString(), name: try r.cString())
  }
}
