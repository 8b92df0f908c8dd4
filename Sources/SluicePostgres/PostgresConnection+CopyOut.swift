import CLibPQ

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `COPY (SELECT …) TO STDOUT` in PostgreSQL's text format, streamed row by row: the CDC
/// source's initial snapshot reads its tables this way. A COPY sends rows without the cursor's
/// round trip per FETCH and without a result set libpq first builds in memory; when the reader
/// stops taking rows, TCP's window fills and the server waits, so memory stays bounded.
extension PostgresConnection {
  /// Starts `sql` (a `COPY … TO STDOUT` statement); then ``copyOut(max:_:)`` until it
  /// returns false. Nothing else may run on the connection meanwhile.
  package func startCopyOut(_ sql: String) throws {
    let result = PQexec(handle, sql)
    defer { PQclear(result) }
    guard let result else { throw connectionError("COPY") }
    guard PQresultStatus(result) == PGRES_COPY_OUT else {
      try check(result)
      throw PostgresError(sqlState: nil, message: "the statement did not start a COPY TO STDOUT")
    }
  }

  /// Hands up to `max` rows of the COPY started by ``startCopyOut(_:)`` to `body`, each as
  /// its line in libpq's buffer (valid only during the call: ``CopyTextFormat/parse(_:into:)``
  /// reads it into a reused ``CopyRow``). Returns false once the COPY has ended and the server
  /// said it succeeded, true while more rows may follow.
  package func copyOut(
    max: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void
  ) throws -> Bool {
    // The COPY ended with the rows of the last call: its command is over.
    if PQtransactionStatus(handle) != PQTRANS_ACTIVE { return false }
    var count = 0
    while count < max {
      var buffer: UnsafeMutablePointer<CChar>?
      let length = PQgetCopyData(handle, &buffer, 0)
      if length > 0, let buffer {
        defer { PQfreemem(buffer) }
        try buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
          try body(UnsafeBufferPointer(start: $0, count: Int(length)))
        }
        count += 1
        continue
      }
      if length == -1 {
        // The COPY is over: its result says whether it succeeded.
        try finishCopyOut()
        return false
      }
      throw connectionError("COPY")
    }
    return true
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

/// One row of a COPY in PostgreSQL's text format with its escapes undone: the fields' bytes
/// one after another in `bytes`, and per field its range there (nil for SQL NULL). A reader
/// keeps one and parses every row into it, so a table is read without an allocation per row
/// once the buffers have grown.
package struct CopyRow {
  package var bytes: [UInt8] = []
  package var fields: [Range<Int>?] = []

  package init() {}
}

/// PostgreSQL's COPY text format: one row per line, fields separated by tabs, `\N` for NULL,
/// and backslash escapes for the bytes that would be ambiguous (`\\`, `\t`, `\n`, `\r`, `\b`,
/// `\f`, `\v`, and on input also octal `\NNN` and hex `\xNN`, undone here as well).
package enum CopyTextFormat {
  /// Parses one row (with or without its trailing newline) into `row`, replacing what it held.
  package static func parse(_ line: UnsafeBufferPointer<UInt8>, into row: inout CopyRow) {
    row.bytes.removeAll(keepingCapacity: true)
    row.fields.removeAll(keepingCapacity: true)
    var end = line.count
    if end > 0, line[end - 1] == UInt8(ascii: "\n") { end -= 1 }
    guard end > 0, let base = line.baseAddress else {
      row.fields.append(0..<0)
      return
    }
    if memchr(base, Int32(UInt8(ascii: "\\")), end) == nil {
      // Most rows have no escape at all: one copy, and the fields are the runs between tabs.
      row.bytes.append(contentsOf: UnsafeBufferPointer(start: base, count: end))
      var start = 0
      while let tab = memchr(base + start, Int32(UInt8(ascii: "\t")), end - start) {
        let index = base.distance(to: tab.assumingMemoryBound(to: UInt8.self))
        row.fields.append(start..<index)
        start = index + 1
      }
      row.fields.append(start..<end)
      return
    }
    var start = 0
    var index = 0
    var escaped = false
    while true {
      if index == end || line[index] == UInt8(ascii: "\t") {
        appendField(line, start, index, escaped: escaped, to: &row)
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
  }

  private static func appendField(
    _ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, escaped: Bool,
    to row: inout CopyRow
  ) {
    let count = Swift.max(0, Swift.min(end, line.count) - start)
    if count == 2, escaped, line[start + 1] == UInt8(ascii: "N") {
      row.fields.append(nil)
      return
    }
    let first = row.bytes.count
    defer { row.fields.append(first..<row.bytes.count) }
    if !escaped {
      row.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: line[start..<(start + count)]))
      return
    }
    var i = start
    let stop = start + count
    while i < stop {
      let byte = line[i]
      i += 1
      guard byte == UInt8(ascii: "\\"), i < stop else {
        row.bytes.append(byte)
        continue
      }
      let next = line[i]
      i += 1
      switch next {
      case UInt8(ascii: "b"): row.bytes.append(8)
      case UInt8(ascii: "f"): row.bytes.append(12)
      case UInt8(ascii: "n"): row.bytes.append(10)
      case UInt8(ascii: "r"): row.bytes.append(13)
      case UInt8(ascii: "t"): row.bytes.append(9)
      case UInt8(ascii: "v"): row.bytes.append(11)
      case UInt8(ascii: "0")...UInt8(ascii: "7"):
        var value = Int(next - UInt8(ascii: "0"))
        var digits = 1
        while digits < 3, i < stop, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(line[i]) {
          value = value * 8 + Int(line[i] - UInt8(ascii: "0"))
          i += 1
          digits += 1
        }
        row.bytes.append(UInt8(truncatingIfNeeded: value))
      case UInt8(ascii: "x") where i < stop && hexValue(line[i]) != nil:
        var value = hexValue(line[i])!
        i += 1
        if i < stop, let low = hexValue(line[i]) {
          value = value * 16 + low
          i += 1
        }
        row.bytes.append(value)
      default:
        // `\\` and any other escaped byte stand for themselves.
        row.bytes.append(next)
      }
    }
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
