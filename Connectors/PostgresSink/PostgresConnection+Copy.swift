import CLibPQ
import SluicePostgres

extension PostgresError {
  /// Errors of one record's data rather than of the connection or the schema: wrong type or
  /// format (class 22), a violated constraint (class 23), a datatype mismatch.
  var isDataError: Bool {
    guard let state = sqlState else { return false }
    return state.hasPrefix("22") || state.hasPrefix("23") || state == "42804"
  }
}

/// What the PostgreSQL sink needs of a libpq connection beyond the shared one: COPY in. The
/// only file of the sink that touches libpq.
extension PostgresConnection {
  /// Runs `COPY … FROM STDIN` with `data` in COPY's text format; `sql` may start with other
  /// statements (`BEGIN; COPY …`), which run in the same round trip.
  func copyIn(_ sql: String, data: [UInt8]) throws {
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
