extension PgOutputMessage {
  /// `C`: a transaction ends; `endLSN` is just past its commit record.
  struct Commit: Equatable {
    var commitLSN: LSN
    var endLSN: LSN
    var commitTime: Int64
  }
}

extension PgOutputMessage.Commit {
  /// Reads the body after the type byte.
  init(_ r: inout ByteReader) throws(ProtocolError) {
    _ = try r.byte()  // flags, unused
    self.init(
      commitLSN: LSN(try r.uint64()), endLSN: LSN(try r.uint64()), commitTime: try r.int64())
  }
}
