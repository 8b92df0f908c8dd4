import CLibPQ
import Foundation
import SluicePostgres

#if canImport(Glibc)
  import Glibc
#endif

/// What the CDC source needs of a libpq connection beyond the shared one: sessions that decode
/// the same whatever the server's defaults, replication connections, and the COPY BOTH stream.
/// The only file of the CDC connector that touches libpq.
extension PostgresConnection {
  /// ISO dates, UTC and round-trippable floats, so values decode the same whatever the
  /// server's defaults are.
  static let changeCaptureSessionOptions =
    "-c datestyle=ISO -c intervalstyle=iso_8601 -c timezone=UTC -c extra_float_digits=3"

  /// A connection for the CDC source, ordinary or (`replication`) speaking the walsender
  /// protocol for logical replication.
  static func changeCapture(
    url: String, password: String?, applicationName: String, replication: Bool = false
  ) throws -> PostgresConnection {
    try PostgresConnection(
      url: url, password: password, applicationName: applicationName,
      options: changeCaptureSessionOptions, replication: replication)
  }

  /// What `readCopyData` found.
  enum CopyRead {
    case data([UInt8])
    /// Nothing arrived within the timeout.
    case none
    /// The server ended the COPY (for example the walsender was terminated).
    case ended
  }

  /// The server's version as a number (150018 for 15.18).
  var serverVersion: Int { Int(PQserverVersion(handle)) }

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
}
