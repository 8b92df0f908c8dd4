import CLibPQ
import Foundation

/// An error reported by PostgreSQL (with its SQLSTATE) or by libpq (without one).
package struct PostgresError: Error, CustomStringConvertible, Sendable {
  package var sqlState: String?
  package var message: String

  package init(sqlState: String?, message: String) {
    self.sqlState = sqlState
    self.message = message
  }

  package var description: String {
    sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message
  }
}

/// One libpq connection with a synchronous API: connecting, queries with text parameters, and
/// turning results and errors into Swift values. The PostgreSQL sink and the CDC source share
/// it; what only one of them needs (COPY in, the COPY BOTH replication stream) is in this
/// module's extensions too, so no connector touches libpq.
///
/// libpq blocks, so callers use it from a thread or serial queue of their own, never from
/// Swift's cooperative pool (STYLE.md §3). One connection is used by one thread at a time.
package final class PostgresConnection {
  /// The libpq connection; nil only while `init` fails. Never seen outside this module: no
  /// other target calls libpq.
  private(set) var handle: OpaquePointer?

  /// Connects with a libpq URL or key=value string; `password` and `applicationName` override
  /// what the URL says. `options` are the server settings for the session (`-c name=value`);
  /// with `replication`, the connection speaks the walsender protocol for logical replication.
  package init(
    url: String, password: String?, applicationName: String, options: String? = nil,
    replication: Bool = false
  ) throws {
    var keywords = ["dbname", "application_name", "connect_timeout"]
    var values = [url, applicationName, "10"]
    if let options {
      keywords.append("options")
      values.append(options)
    }
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
  package var isHealthy: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

  /// Runs one statement with text parameters (never interpolated into the SQL) and returns its
  /// rows as text, NULL as nil.
  @discardableResult
  package func execute(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
    let result = withOptionalCStrings(parameters) { values in
      PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
    }
    defer { PQclear(result) }
    try check(result)
    return rows(of: result)
  }

  /// Runs statements without parameters in one round trip (several may be separated by `;`;
  /// replication connections take only these) and returns the rows of the last result. Only
  /// for SQL made of quoted identifiers and Sluice's own metadata, never of record values.
  @discardableResult
  package func simpleQuery(_ sql: String) throws -> [[String?]] {
    let result = PQexec(handle, sql)
    defer { PQclear(result) }
    try check(result)
    return rows(of: result)
  }

  private func rows(of result: OpaquePointer?) -> [[String?]] {
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

  /// Throws the server's error (SQLSTATE, message, detail) unless `result` succeeded.
  func check(_ result: OpaquePointer?) throws {
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

  func connectionError(_ during: String) -> PostgresError {
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
