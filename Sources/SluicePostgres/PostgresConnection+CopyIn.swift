import CLibPQ

/// `COPY … FROM STDIN`, the PostgreSQL sink's bulk write: one call sends the statement, the
/// data in COPY's text format and the end marker, and collects the server's verdict.
extension PostgresConnection {
  /// Runs `COPY … FROM STDIN` with `data` in COPY's text format; `sql` may start with other
  /// statements (`BEGIN; COPY …`), which run in the same round trip.
  package func copyIn(_ sql: String, data: [UInt8]) throws {
    let start = PQexec(handle, sql)
    let status = PQresultStatus(start)
    if status != PGRES_COPY_IN {
      defer { PQclear(start) }
      try check(start)
      throw PostgresError(sqlState: nil, message: "COPY did not start")
    }
    PQclear(start)
    var failure: PostgresError?
    data.withUnsafeBufferPointer { buffer in
      var sent = 0
      while sent < buffer.count {
        // libpq takes an Int32 length: the data goes in slices of 1 MiB.
        let size = min(1 << 20, buffer.count - sent)
        let ok = buffer.baseAddress!.advanced(by: sent).withMemoryRebound(
          to: CChar.self, capacity: size
        ) { PQputCopyData(handle, $0, Int32(size)) }
        guard ok == 1 else {
          failure = connectionError("COPY data")
          return
        }
        sent += size
      }
    }
    if PQputCopyEnd(handle, failure == nil ? nil : "aborted") != 1 {
      failure = failure ?? connectionError("COPY end")
    }
    while let result = PQgetResult(handle) {
      defer { PQclear(result) }
      if failure == nil {
        do { try check(result) } catch let error as PostgresError { failure = error }
      }
    }
    if let failure { throw failure }
  }
}
