extension PgOutputMessage {
  /// `B`: a transaction starts; `finalLSN` is the LSN of its commit record.
  struct Begin: Equatable {
    var finalLSN: LSN
    /// Microseconds since 2000-01-01.
    var commitTime: Int64
    var xid: UInt32
  }
}

extension PgOutputMessage.Begin {
  /// Reads the body after the type byte.
  init(_ r: inout ByteReader) throws(ProtocolError) {
    self.init(finalLSN: LSN(try r.uint64()), commitTime: try r.int64(), xid: try r.uint32())
  }
}
