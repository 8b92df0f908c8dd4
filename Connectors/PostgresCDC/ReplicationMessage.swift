/// One CopyData message of the streaming replication protocol, server to client.
enum ReplicationMessage: Equatable {
  /// `w`: WAL data, here one pgoutput message: a slice of the CopyData message, not a copy.
  case xLogData(walStart: LSN, walEnd: LSN, sendTime: Int64, payload: ArraySlice<UInt8>)
  /// `k`: the server is alive, has sent everything up to `walEnd`, and may want an answer now.
  case keepalive(walEnd: LSN, sendTime: Int64, replyRequested: Bool)

  /// Decodes a CopyData message; unknown kinds are errors (the protocol has only these two).
  static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> ReplicationMessage {
    var reader = ByteReader(bytes)
    switch try reader.byte() {
    case UInt8(ascii: "w"):
      let start = LSN(try reader.uint64())
      let end = LSN(try reader.uint64())
      let time = try reader.int64()
      return .xLogData(walStart: start, walEnd: end, sendTime: time, payload: reader.rest())
    case UInt8(ascii: "k"):
      let end = LSN(try reader.uint64())
      let time = try reader.int64()
      return .keepalive(walEnd: end, sendTime: time, replyRequested: try reader.byte() != 0)
    case let kind:
      throw ProtocolError("unknown replication message '\(Character(Unicode.Scalar(kind)))'")
    }
  }
}

/// `r`: the standby status update, client to server. Sluice reports the same LSN as written,
/// flushed and applied: the end of the last transaction whose records are durable in topics.
/// PostgreSQL advances the slot's `confirmed_flush_lsn` to it and may recycle WAL before it.
struct StandbyStatusUpdate: Equatable {
  var durable: LSN
  /// Microseconds since 2000-01-01, PostgreSQL's epoch.
  var clientTime: Int64
  var replyRequested: Bool

  var bytes: [UInt8] {
    var out: [UInt8] = [UInt8(ascii: "r")]
    out.reserveCapacity(34)
    out.appendBigEndian(durable.value)  // written
    out.appendBigEndian(durable.value)  // flushed
    out.appendBigEndian(durable.value)  // applied
    out.appendBigEndian(UInt64(bitPattern: clientTime))
    out.append(replyRequested ? 1 : 0)
    return out
  }
}

/// PostgreSQL counts time in microseconds since 2000-01-01 UTC.
enum PostgresEpoch {
  static let unixOffsetMicroseconds: Int64 = 946_684_800_000_000

  /// A timestamp from the wire can be any 64 bits: one past the range saturates, not traps.
  static func milliseconds(fromPostgres micros: Int64) -> Int64 {
    let (sum, overflow) = micros.addingReportingOverflow(unixOffsetMicroseconds)
    return overflow ? Int64.max / 1000 : sum / 1000
  }

  /// Microseconds since the Unix epoch of a PostgreSQL timestamp, saturating as above.
  static func microseconds(fromPostgres micros: Int64) -> Int64 {
    let (sum, overflow) = micros.addingReportingOverflow(unixOffsetMicroseconds)
    return overflow ? Int64.max : sum
  }

  static func postgresMicroseconds(fromUnixMilliseconds millis: Int64) -> Int64 {
    millis * 1000 - unixOffsetMicroseconds
  }
}
