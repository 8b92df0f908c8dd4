import CLibPQ

/// `COPY (SELECT …) TO STDOUT` in PostgreSQL's text format, streamed row by row: the CDC
/// source's initial snapshot reads its tables this way. A COPY sends rows without the cursor's
/// round trip per FETCH and without a result set libpq first builds in memory; when the reader
/// stops taking rows, TCP's window fills and the server waits, so memory stays bounded.
extension PostgresConnection {
  /// Starts `sql` (a `COPY … TO STDOUT` statement); then ``copyOutRows(max:)`` until it
  /// returns nil. Nothing else may run on the connection meanwhile.
  package func startCopyOut(_ sql: String) throws {
    let result = PQexec(handle, sql)
    defer { PQclear(result) }
    guard let result else { throw connectionError("COPY") }
    guard PQresultStatus(result) == PGRES_COPY_OUT else {
      try check(result)
      throw PostgresError(sqlState: nil, message: "the statement did not start a COPY TO STDOUT")
    }
  }

  /// Up to `max` rows of the COPY started by ``startCopyOut(_:)``, each as its fields (nil for
  /// SQL NULL, escapes undone); nil once the COPY has ended and the server said it succeeded.
  package func copyOutRows(max: Int) throws -> [[[UInt8]?]]? {
    // The COPY ended with the rows of the last call: its command is over.
    if PQtransactionStatus(handle) != PQTRANS_ACTIVE { return nil }
    var rows: [[[UInt8]?]] = []
    rows.reserveCapacity(max)
    while rows.count < max {
      var buffer: UnsafeMutablePointer<CChar>?
      let length = PQgetCopyData(handle, &buffer, 0)
      if length > 0, let buffer {
        defer { PQfreemem(buffer) }
        rows.append(
          buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            CopyTextFormat.fields(of: UnsafeBufferPointer(start: $0, count: Int(length)))
          })
        continue
      }
      if length == -1 {
        // The COPY is over: its result says whether it succeeded.
        try finishCopyOut()
        return rows.isEmpty ? nil : rows
      }
      throw connectionError("COPY")
    }
    return rows
  }

  /// Reads the results after the COPY's data until libpq has none left, throwing the first
  /// error among them.
  private func finishCopyOut() throws {
    var failure: Error?
    while let result = PQgetResult(handle) {
      if failure == nil {
        do { try check(result) } catch { failure = error }
      }
      PQclear(result)
    }
    if let failure { throw failure }
  }
}

/// PostgreSQL's COPY text format: one row per line, fields separated by tabs, `\N` for NULL,
/// and backslash escapes for the bytes that would be ambiguous (`\\`, `\t`, `\n`, `\r`, `\b`,
/// `\f`, `\v`, and on input also octal `\NNN` and hex `\xNN`, undone here as well).
package enum CopyTextFormat {
  /// The fields of one row (with or without its trailing newline).
  package static func fields(of line: UnsafeBufferPointer<UInt8>) -> [[UInt8]?] {
    var end = line.count
    if end > 0, line[end - 1] == UInt8(ascii: "\n") { end -= 1 }
    var fields: [[UInt8]?] = []
    var start = 0
    var index = 0
    var escaped = false
    while true {
      if index == end || line[index] == UInt8(ascii: "\t") {
        fields.append(field(line, start, index, escaped: escaped))
        if index == end { break }
        index += 1
        start = index
        escaped = false
        continue
      }
      if line[index] == UInt8(ascii: "\\") {
        // An escaped byte is never a separator (a backslash at the very end stays as it is).
        escaped = true
        index = Swift.min(end, index + 2)
      } else {
        index += 1
      }
    }
    return fields
  }

  private static func field(
    _ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, escaped: Bool
  ) -> [UInt8]? {
    let count = Swift.max(0, Swift.min(end, line.count) - start)
    if !escaped { return Array(UnsafeBufferPointer(rebasing: line[start..<(start + count)])) }
    if count == 2, line[start + 1] == UInt8(ascii: "N") { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    var i = start
    let stop = start + count
    while i < stop {
      let byte = line[i]
      i += 1
      guard byte == UInt8(ascii: "\\"), i < stop else {
        bytes.append(byte)
        continue
      }
      let next = line[i]
      i += 1
      switch next {
      case UInt8(ascii: "b"): bytes.append(8)
      case UInt8(ascii: "f"): bytes.append(12)
      case UInt8(ascii: "n"): bytes.append(10)
      case UInt8(ascii: "r"): bytes.append(13)
      case UInt8(ascii: "t"): bytes.append(9)
      case UInt8(ascii: "v"): bytes.append(11)
      case UInt8(ascii: "0")...UInt8(ascii: "7"):
        var value = Int(next - UInt8(ascii: "0"))
        var digits = 1
        while digits < 3, i < stop, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(line[i]) {
          value = value * 8 + Int(line[i] - UInt8(ascii: "0"))
          i += 1
          digits += 1
        }
        bytes.append(UInt8(truncatingIfNeeded: value))
      case UInt8(ascii: "x") where i < stop && hexValue(line[i]) != nil:
        var value = hexValue(line[i])!
        i += 1
        if i < stop, let low = hexValue(line[i]) {
          value = value * 16 + low
          i += 1
        }
        bytes.append(value)
      default:
        // `\\` and any other escaped byte stand for themselves.
        bytes.append(next)
      }
    }
    return bytes
  }

  private static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}

extension PostgresConnection {
  /// Whether the connection is between commands (not in the middle of a COPY, say), so
  /// another statement may run on it.
  package var isIdle: Bool {
    guard let handle else { return false }
    let status = PQtransactionStatus(handle)
    return status != PQTRANS_ACTIVE && status != PQTRANS_UNKNOWN
  }
}
