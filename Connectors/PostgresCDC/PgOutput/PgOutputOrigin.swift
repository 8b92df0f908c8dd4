extension PgOutputMessage {
  /// `O`: the transaction was replicated from another node (`origin` of logical replication).
  struct Origin: Equatable {
    var lsn: LSN
    var name: String
  }
}

extension PgOutputMessage.Origin {
  /// Reads the body after the type byte.
  init(_ r: inout ByteReader) throws(ProtocolError) {
    self.init(lsn: LSN(try r.uint64()), name: try r.cString())
  }
}
