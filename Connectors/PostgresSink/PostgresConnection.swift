import CLibPQ
import Foundation

/// An error reported by PostgreSQL (with its SQLSTATE) or by libpq (without one).
struct PostgresError: Error, CustomStringConvertible, Sendable {
  var sqlState: String?
  var message: String

  var description: String {
    sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message
  }

  /// Errors of one record's data rather than of the connection or the schema: wrong type or
  /// format (class 22), a violated constraint (class 23), a datatype mismatch.
  var isDataError: Bool {
    guard let state = sqlState else { return false }
    return state.hasPrefix("22") || state.hasPrefix("23") || state == "42804"
  }
}

/// One libpq connection with a synchronous API, the only file that touches libpq.
///
/// libpq blocks, so the sink calls this from a serial dispatch queue of its own, never from
/// Swift's cooperative pool (STYLE.md §3). Raw pointers and C strings stay in this file.
final class PostgresConnection {
  private var handle: OpaquePointer?

  /// Connects with a libpq URL or key=value string; `password` and `applicationName` override
  /// what the URL says.
  init(url: String, password: String?, applicationName: String) throws {
    var keywords = ["dbname", "application_name", "connect_timeout"]
    var values = [url, applicationName, "10"]
    if let password {
      keywords.append("password")
      values.append(password)
    }
    handle = withCStrings(keywords) { k in
      withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
    }
    guard let handle, PQstatus(handle) == CONNECTION_OK else {
      let message = handle.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
      PQfinish(handle)
      self.handle = nil
      throw PostgresError(
        sqlState: nil, message: "cannot connect to PostgreSQL: \(Self.trimmed(message))")
    }
  }

  deinit { PQfinish(handle) }

  /// Whether the connection still works; after a failure libpq marks it bad.
  var isHealthy: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

  /// Runs one statement with text parameters (never interpolated into the SQL) and returns its
  /// rows as text, NULL as nil.
  @discardableResult
  func execute(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
    let result = withOptionalCStrings(parameters) { values in
      PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
    }
    defer { PQclear(result) }
    try check(result)
    var rows: [[String?]] = []
    let rowCount = PQntuples(result)
    let columnCount = PQnfields(result)
    rows.reserveCapacity(Int(rowCount))
    for r in 0..<rowCount {
      var row: [String?] = []
      for c in 0..<columnCount {
        row.append(PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c)))
      }
      rows.append(row)
    }
    return rows
  }

  /// Runs statements without parameters in one round trip (several may be separated by `;`).
  /// Only for SQL made of quoted identifiers and Sluice's own metadata, never of record values.
  func run(_ sql: String) throws {
    let result = PQexec(handle, sql)
    defer { PQclear(result) }
    try check(result)
  }

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

  private func check(_ result: OpaquePointer?) throws {
    guard let result else { throw connectionError("query") }
    let status = PQresultStatus(result)
    guard status != PGRES_COMMAND_OK, status != PGRES_TUPLES_OK else { return }
    let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
    let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
    let detail = PQresultErrorField(result, Int32(UInt8(ascii: "D"))).map { String(cString: $0) }
    let message =
      primary.map { p in detail.map { "\(p): \($0)" } ?? p }
      ?? Self.trimmed(String(cString: PQresultErrorMessage(result)))
    throw PostgresError(sqlState: state, message: message.isEmpty ? "\(status)" : message)
  }

  private func connectionError(_ during: String) -> PostgresError {
    let text = handle.map { String(cString: PQerrorMessage($0)) } ?? ""
    return PostgresError(
      sqlState: nil, message: "PostgreSQL connection failed during \(during): \(Self.trimmed(text))"
    )
  }

  private static func trimmed(_ text: String) -> String {
    text.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

// MARK: - C strings

private func withCStrings<R>(
  _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R
)
  -> R
{
  withOptionalCStrings(strings.map { Optional($0) }) { pointers in
    var terminated = Array(UnsafeBufferPointer(start: pointers, count: strings.count))
    terminated.append(nil)
    return terminated.withUnsafeBufferPointer { body($0.baseAddress!) }
  }
}

private func withOptionalCStrings<R>(
  _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
) -> R {
  let copies = strings.map { $0.map { strdup($0) } ?? nil }
  defer { copies.forEach { free($0) } }
  let pointers = copies.map { UnsafePointer($0) }
  return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
