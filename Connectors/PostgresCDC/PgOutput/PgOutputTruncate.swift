extension PgOutputMessage {
  /// `T`: tables truncated in one statement.
  struct Truncate: Equatable {
    var relations: [UInt32]
    var cascade: Bool
    var restartIdentity: Bool
  }
}

extension PgOutputMessage.Truncate {
  /// Reads the body after the type byte.
  init(_ r: inout ByteReader) throws(ProtocolError) {
    let count = Int(try r.uint32())
    let options = try r.byte()
    // Checked before reserving anything: the count comes from the wire.
    guard count <= r.remaining else { throw ProtocolError("truncate lists too many tables") }
    var relations: [UInt32] = []
    relations.reserveCapacity(count)
    for _ in 0..<count { relations.append(try r.uint32()) }
    self.init(relations: relations, cascade: options & 1 != 0, restartIdentity: options & 2 != 0)
  }
}
