import CLibPQ
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The COPY BOTH stream of a replication connection (`START_REPLICATION`): reading the
/// server's CopyData messages with a timeout and sending the client's (standby status
/// updates). The CDC source decodes what the messages hold.
extension PostgresConnection {
  /// What `readCopyData` found.
  package enum CopyRead: Equatable {
    case data([UInt8])
    /// Nothing arrived within the timeout.
    case none
    /// The server ended the COPY (for example the walsender was terminated).
    case ended
  }

  /// The server's version as a number (150018 for 15.18).
  package var serverVersion: Int { Int(PQserverVersion(handle)) }

  /// Sends a command that switches the connection into COPY BOTH (`START_REPLICATION`).
  package func startCopyBoth(_ sql: String) throws {
    let result = PQexec(handle, sql)
    defer { PQclear(result) }
    guard let result else { throw connectionError("START_REPLICATION") }
    if PQresultStatus(result) != PGRES_COPY_BOTH {
      try check(result)
      throw PostgresError(sqlState: nil, message: "the server did not start streaming")
    }
  }

  /// Reads the next CopyData message, waiting up to `timeoutMilliseconds` for one.
  package func readCopyData(timeoutMilliseconds: Int32) throws -> CopyRead {
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
  package func putCopyData(_ bytes: [UInt8]) throws {
    let sent = bytes.withUnsafeBufferPointer { buffer in
      buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
        PQputCopyData(handle, $0, Int32(buffer.count))
      }
    }
    guard sent == 1, PQflush(handle) == 0 else { throw connectionError("sending feedback") }
  }
}
