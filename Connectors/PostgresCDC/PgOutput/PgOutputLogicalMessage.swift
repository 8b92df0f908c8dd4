extension PgOutputMessage {
  /// `M`: what `pg_logical_emit_message` wrote, sent with the `messages 'true'` option.
  struct LogicalMessage: Equatable {
    /// Written inside a transaction (sent at its commit) rather than at once.
    var transactional: Bool
    var lsn: LSN
    var prefix: String
    var content: [UInt8]
  }
}

extension PgOutputMessage.LogicalMessage {
  /// Reads the body after the type byte.
  init(_ r: inout ByteReader) throws(ProtocolError) {
    let flags = try r.byte()
    let lsn = LSN(try r.uint64())
    let prefix = try r.cString()
    let length = Int(try r.uint32())
    self.init(
      transactional: flags & 1 != 0, lsn: lsn, prefix: prefix, content: Array(try r.take(length)))
  }
}
