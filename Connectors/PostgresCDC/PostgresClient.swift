import CLibPQ
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// An error reported by PostgreSQL (with its SQLSTATE) or by libpq (without one).
struct PostgresError: Error, CustomStringConvertible, Sendable {
  var sqlState: String?
  var message: String

  var description: String {
    sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message
  }
}

/// One libpq connection, ordinary or replication (`replication=database`), with a synchronous
/// API. The only file of the CDC connector that touches libpq.
///
/// libpq blocks, so callers use it from a thread or serial queue of their own, never from the
/// cooperative pool (STYLE.md §3). One connection is used by one thread at a time.
final class PostgresClient {
  private var handle: OpaquePointer?

  /// What `readCopyData` found.
  enum CopyRead {
    case data([UInt8])
    /// Nothing arrived within the timeout.
    case none
    /// The server ended the COPY (for example the walsender was terminated).
    case ended
  }

  /// Connects with a libpq URL or key=value string. `password` overrides the URL's; with
  /// `replication`, the connection speaks the walsender protocol for logical replication.
  /// Every session uses ISO dates, UTC and round-trippable floats, so values decode the same
  /// whatever the server's defaults are.
  init(url: String, password: String?, applicationName: String, replication: Bool = false) throws {
    var keywords = ["dbname", "application_name", "connect_timeout", "options"]
    var values = [
      url, applicationName, "10",
      "-c datestyle=ISO -c intervalstyle=iso_8601 -c timezone=UTC -c extra_float_digits=3",
    ]
    if replication {
      keywords.append("replication")
      values.append("database")
    }
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

  /// The server's version as a number (150018 for 15.18).
  var serverVersion: Int { Int(PQserverVersion(handle)) }

  /// Runs one statement with text parameters (never interpolated into the SQL) and returns its
  /// rows as text, NULL as nil. Not for replication connections, which take simple queries only.
  @discardableResult
  func execute(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
    let result = withOptionalCStrings(parameters) { values in
      PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
    }
    defer { PQclear(result) }
    try check(result)
    return rows(of: result)
  }

  /// Runs a simple query (replication commands such as `CREATE_REPLICATION_SLOT`, which take
  /// no parameters) and returns the rows of its last result.
  @discardableResult
  func simpleQuery(_ sql: String) throws -> [[String?]] {
    let result = PQexec(handle, sql)
    defer { PQclear(result) }
    try check(result)
    return rows(of: result)
  }

  /// Sends a command that switches the connection into COPY BOTH (`START_REPLICATION`).
  func startCopyBoth(_ sql: String) throws {
    let result = PQexec(handle, sql)
    defer { PQclear(result) }
    guard let result else { throw connectionError("START_REPLICATION") }
    if PQresultStatus(result) != PGRES_COPY_BOTH {
      try check(result)
      throw PostgresError(sqlState: nil, message: "the server did not start streaming")
    }
  }

  /// Reads the next CopyData message, waiting up to `timeoutMilliseconds` for one.
  func readCopyData(timeoutMilliseconds: Int32) throws -> CopyRead {
    if let message = try takeCopyData() { return message }
    var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
    let ready = poll(&descriptor, 1, timeoutMilliseconds)
    if ready < 0 && errno != EINTR { throw connectionError("poll") }
    if ready <= 0 { return .none }
    guard PQconsumeInput(handle) == 1 else { throw connectionError("reading the stream") }
    return try takeCopyData() ?? .none
  }

  /// A message libpq already holds, without waiting.
  private func takeCopyData() throws -> CopyRead? {
    var buffer: UnsafeMutablePointer<CChar>?
    let length = PQgetCopyData(handle, &buffer, 1)
    if length > 0, let buffer {
      defer { PQfreemem(buffer) }
      return .data(
        buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
          Array(UnsafeBufferPointer(start: $0, count: Int(length)))
        })
    }
    if length == 0 { return nil }
    if length == -1 {
      // The COPY is over: collect the final result, an error when the server ended it.
      while let result = PQgetResult(handle) {
        defer { PQclear(result) }
        try check(result)
      }
      return .ended
    }
    throw connectionError("reading the stream")
  }

  /// Sends one CopyData message (a standby status update) and flushes it.
  func putCopyData(_ bytes: [UInt8]) throws {
    let sent = bytes.withUnsafeBufferPointer { buffer in
      buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
        PQputCopyData(handle, $0, Int32(buffer.count))
      }
    }
    guard sent == 1, PQflush(handle) == 0 else { throw connectionError("sending feedback") }
  }

  private func rows(of result: OpaquePointer?) -> [[String?]] {
    var rows: [[String?]] = []
    let rowCount = PQntuples(result)
    let columnCount = PQnfields(result)
    for r in 0..<rowCount {
      var row: [String?] = []
      for c in 0..<columnCount {
        row.append(PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c)))
      }
      rows.append(row)
    }
    return rows
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
) -> R {
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
