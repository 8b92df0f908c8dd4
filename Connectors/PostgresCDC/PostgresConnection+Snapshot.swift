import CLibPQ
import SluicePostgres

/// What the initial snapshot needs of libpq beyond the shared connection: rows of a cursor as
/// the bytes PostgreSQL sent, without a detour through `String`.
extension PostgresConnection {
  /// One fetched row: the table's columns as pgoutput would carry them, then the booleans the
  /// query appended (whether the row's key is within each boundary).
  struct FetchedRow {
    var values: [PgOutputMessage.TupleValue]
    var flags: [Bool]
  }

  /// Runs `FETCH count FROM cursor`; the first `valueColumns` columns are values, the rest
  /// booleans.
  func fetch(_ count: Int, from cursor: String, valueColumns: Int) throws -> [FetchedRow] {
    let result = PQexec(handle, "FETCH \(count) FROM \(cursor)")
    defer { PQclear(result) }
    try check(result)
    let rowCount = PQntuples(result)
    let columnCount = PQnfields(result)
    var rows: [FetchedRow] = []
    rows.reserveCapacity(Int(rowCount))
    for r in 0..<rowCount {
      var values: [PgOutputMessage.TupleValue] = []
      values.reserveCapacity(valueColumns)
      var flags: [Bool] = []
      for c in 0..<columnCount {
        let isNull = PQgetisnull(result, r, c) == 1
        if Int(c) < valueColumns {
          if isNull {
            values.append(.null)
          } else {
            let length = Int(PQgetlength(result, r, c))
            let bytes = PQgetvalue(result, r, c)!.withMemoryRebound(
              to: UInt8.self, capacity: length
            ) {
              Array(UnsafeBufferPointer(start: $0, count: length))
            }
            values.append(.text(bytes))
          }
        } else {
          flags.append(!isNull && PQgetvalue(result, r, c).pointee == CChar(UInt8(ascii: "t")))
        }
      }
      rows.append(FetchedRow(values: values, flags: flags))
    }
    return rows
  }
}
