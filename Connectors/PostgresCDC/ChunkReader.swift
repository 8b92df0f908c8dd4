import Foundation
import SluiceCore
import SluicePostgres

/// Reads the chunks an incremental snapshot asks for, one at a time, on a connection of its
/// own (libpq blocks; ``ControlConnection``'s queue): for each, a low watermark, the SELECT of
/// the next rows in primary-key (or surrogate-key) order, and a high watermark carrying those
/// rows
/// (``WatermarkMessage``). It decides nothing: the stream meets what it wrote and
/// ``IncrementalSnapshot`` decides. A table it cannot read gets a `skip` message with the
/// reason; a `data-collections` expression gets an `expand` message listing the captured
/// tables it matches. A lost connection is retried with backoff until the stream stops the
/// reader.
final class ChunkReader: @unchecked Sendable {
  private let config: CDCConfig
  private let connection: ControlConnection
  private let context: any SourceTaskContext
  private let requests: AsyncStream<IncrementalSnapshot.ChunkRequest>
  private let continuation: AsyncStream<IncrementalSnapshot.ChunkRequest>.Continuation
  private var worker: Task<Void, Never>?

  init(config: CDCConfig, context: any SourceTaskContext) {
    self.config = config
    self.context = context
    connection = ControlConnection(config: config, purpose: "incremental snapshot")
    (requests, continuation) = AsyncStream.makeStream(of: IncrementalSnapshot.ChunkRequest.self)
  }

  /// Starts reading requests as they come.
  func start() {
    worker = Task { [requests] in
      for await request in requests {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(10))
        var warned = false
        while !Task.isCancelled {
          do {
            try await self.read(request)
            break
          } catch {
            if Task.isCancelled { break }
            if !warned {
              self.context.logger.warning(
                "reading a chunk of the incremental snapshot failed; retrying",
                metadata: ["table": "\(request.table)", "error": "\(error)"])
              warned = true
            }
            try? await Task.sleep(for: backoff.next())
          }
        }
      }
    }
  }

  func submit(_ request: IncrementalSnapshot.ChunkRequest) {
    continuation.yield(request)
  }

  /// Stops reading; a chunk being read may still be written (the stream ignores it).
  func stop() {
    continuation.finish()
    worker?.cancel()
    let connection = self.connection
    let worker = self.worker
    Task {
      await worker?.value
      await connection.close()
    }
  }

  // MARK: - One chunk

  private func read(_ request: IncrementalSnapshot.ChunkRequest) async throws {
    let publication = config.publication
    let uncapturedSignalTable = config.uncapturedSignalTable
    try await connection.run { connection in
      let attempt = UUID().uuidString
      var header = WatermarkMessage(
        kind: .open, snapshot: request.snapshot, table: request.table, chunk: request.chunk,
        attempt: attempt)
      if let pattern = request.pattern {
        header.kind = .expand
        header.pattern = pattern
        header.tables = TableSelector(expression: pattern).select(
          from: try ControlConnection.capturedTables(
            publication: publication, except: uncapturedSignalTable, on: connection))
        try Self.emit(header.encoded(), on: connection)
        return
      }
      let table: Described
      switch try Self.describe(
        request.table, surrogateKey: request.surrogateKey, publication: publication,
        on: connection)
      {
      case .failure(let refusal):
        header.kind = .skip
        header.reason = refusal.description
        try Self.emit(header.encoded(), on: connection)
        return
      case .success(let described):
        table = described
      }
      header.relation = table.oid
      header.key = table.key
      if table.primaryKey != table.key { header.primaryKey = table.primaryKey }
      header.surrogateKey = request.surrogateKey
      var maximum = request.maximum
      do {
        if request.chunk == 0 {
          maximum = try Self.maximumKey(of: table, filter: request.filter, on: connection)
          header.note = try Self.surrogateKeyNote(table, on: connection)
        }
        // The low watermark, committed before the SELECT starts: what the SELECT sees is at
        // least as new as the stream before it.
        try Self.emit(header.encoded(), on: connection)
        try Self.awaitEarlierCommits(on: connection)
        var rows: [[String?]] = []
        if let maximum {
          rows = try Self.select(
            table, after: request.after, upTo: maximum, filter: request.filter,
            limit: request.size, on: connection)
        }
        header.kind = .close
        header.columns = table.columns.map {
          .init(name: $0.name, type: $0.type, modifier: $0.modifier)
        }
        header.identity = table.identity
        header.after = request.after
        header.last = rows.last.map { row in table.orderIndexes.map { row[$0] ?? "" } }
        if request.chunk == 0 { header.maximum = maximum }
        header.done = maximum == nil || rows.count < request.size || header.last == maximum
        try Self.emit(header.encoded(rows: rows), on: connection)
      } catch let error as PostgresError where Self.isTheQuery(error) {
        // The filter or the table refused the query (a bad additional condition, a missing
        // privilege): a retry would fail the same way.
        header.kind = .skip
        header.reason = "reading it failed: \(error)"
        try Self.emit(header.encoded(), on: connection)
      }
    }
  }

  /// Waits until the transactions whose commit records precede the low watermark are
  /// visible to a new snapshot. PostgreSQL writes a commit record, flushes it, and only then
  /// takes the transaction out of the running ones: a transaction that committed just before
  /// the watermark in the WAL (so the stream meets it before the window opens) can still be
  /// invisible to the SELECT, which would then read a row older than the change the stream
  /// already wrote. Those are the transactions of the snapshot taken now that the commit log
  /// says committed (wait for them to become visible), or that are still committing (a short
  /// grace, since a transaction that merely stays open is not one of them).
  private static func awaitEarlierCommits(on connection: PostgresConnection) throws {
    guard let taken = try connection.execute("SELECT txid_current_snapshot()::text").first?.first,
      let snapshot = taken
    else { return }
    let started = ContinuousClock.now
    while true {
      let row = try connection.execute(
        """
        SELECT count(*) FILTER (WHERE s = 'committed'
            AND NOT txid_visible_in_snapshot(x, txid_current_snapshot()))::text,
          count(*) FILTER (WHERE s = 'in progress')::text
        FROM (SELECT x, txid_status(x) AS s FROM txid_snapshot_xip($1::txid_snapshot) x) t
        """, [snapshot]
      ).first
      let committing = row?[0].flatMap { Int($0) } ?? 0
      let running = row?[1].flatMap { Int($0) } ?? 0
      let waited = ContinuousClock.now - started
      if committing == 0 && (running == 0 || waited > .milliseconds(50)) { return }
      if waited > .seconds(10) { return }
      usleep(1000)
    }
  }

  /// Errors of the statement rather than of the connection or the server's state.
  private static func isTheQuery(_ error: PostgresError) -> Bool {
    guard let state = error.sqlState else { return false }
    return ["42", "22", "0A", "2B", "44"].contains(String(state.prefix(2)))
  }

  /// Writes a watermark into the WAL in a transaction of its own.
  private static func emit(_ content: String, on connection: PostgresConnection) throws {
    try connection.execute(
      "SELECT pg_logical_emit_message(true, $1, $2::text)", [WatermarkMessage.prefix, content])
  }

  /// A table as the chunk reads it.
  struct Described {
    var oid: UInt32
    var identity: String
    var columns: [(name: String, type: UInt32, modifier: Int32, sqlType: String)]
    /// The columns the chunk's window compares changes by (the primary key, or for a table
    /// without one the surrogate key), in key order.
    var key: [String]
    var keyIndexes: [Int]
    /// The primary key, which keys the events (empty for a table without one).
    var primaryKey: [String]
    /// The columns chunks are ordered and bounded by (the surrogate key, or the primary key),
    /// and their places among `columns`.
    var order: [String]
    var orderIndexes: [Int]
    var quoted: String

    var orderList: String { order.map { "t." + quoteIdentifier($0) }.joined(separator: ", ") }

    func orderParameters(from first: Int) -> String {
      orderIndexes.enumerated().map { "$\(first + $0.offset)::\(columns[$0.element].sqlType)" }
        .joined(separator: ", ")
    }
  }

  private static func describe(
    _ name: QualifiedName, surrogateKey: String?, publication: String,
    on connection: PostgresConnection
  ) throws -> Result<Described, SignalError> {
    guard
      let row = try connection.execute(
        """
        SELECT c.oid::text, c.relreplident::text,
          EXISTS (SELECT 1 FROM pg_publication_tables p WHERE p.pubname = $3
            AND p.schemaname = n.nspname AND p.tablename = c.relname),
          (SELECT string_agg(a.attname, ',') FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
            WHERE i.indrelid = c.oid AND i.indisreplident)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
        """, [name.schema, name.table, publication]
      ).first, let oid = row[0].flatMap({ UInt32($0) })
    else { return .failure(SignalError("table \(name) does not exist")) }
    guard row[2] == "t" else {
      return .failure(
        SignalError(
          "table \(name) is not in publication \(publication): this connector does not capture it"))
    }
    let primaryKey = try ControlConnection.primaryKey(of: oid, on: connection)
    let order = surrogateKey.map { [$0] } ?? primaryKey
    guard !order.isEmpty else {
      return .failure(
        SignalError(
          "table \(name) has no primary key, which an incremental snapshot reads by: give the execute-snapshot signal a \"surrogate-key\" (a unique, non-null column) to read it by"
        ))
    }
    let key = primaryKey.isEmpty ? order : primaryKey
    // A delete carries only the replica identity's columns: the window must find its key there.
    let identity = row[1] ?? "d"
    let identityColumns: [String]? =
      switch identity {
      case "f": nil
      case "i": (row[3] ?? "").split(separator: ",").map(String.init)
      case "n": []
      default: primaryKey
      }
    if let identityColumns, !primaryKey.isEmpty || identity != "d",
      !key.allSatisfy(identityColumns.contains)
    {
      let named = ["n": "NOTHING", "i": "USING INDEX", "d": "DEFAULT"][identity] ?? identity
      return .failure(
        SignalError(
          "table \(name) has REPLICA IDENTITY \(named), so its deletes do not carry \(key.joined(separator: ", ")), which an incremental snapshot compares changes by\(primaryKey.isEmpty ? " (a table without a primary key needs REPLICA IDENTITY FULL, or USING INDEX on a unique index of the surrogate key)" : "")"
        ))
    }
    let columns = try connection.execute(
      """
      SELECT attname, atttypid::text, atttypmod::text, format_type(atttypid, atttypmod)
      FROM pg_attribute
      WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
      ORDER BY attnum
      """, ["\(oid)"]
    ).map { column in
      (
        name: column[0] ?? "", type: column[1].flatMap { UInt32($0) } ?? 0,
        modifier: column[2].flatMap { Int32($0) } ?? -1, sqlType: column[3] ?? "text"
      )
    }
    let keyIndexes = key.compactMap { k in columns.firstIndex { $0.name == k } }
    let orderIndexes = order.compactMap { k in columns.firstIndex { $0.name == k } }
    if let surrogateKey, orderIndexes.isEmpty {
      return .failure(
        SignalError(
          "table \(name) has no column \"\(surrogateKey)\" (the signal's surrogate-key) that it could be read by"
        ))
    }
    guard keyIndexes.count == key.count, orderIndexes.count == order.count else {
      return .failure(SignalError("table \(name): a key column is generated"))
    }
    return .success(
      Described(
        oid: oid, identity: identity, columns: columns, key: key, keyIndexes: keyIndexes,
        primaryKey: primaryKey, order: order, orderIndexes: orderIndexes, quoted: name.quoted))
  }

  /// What the user should know about a surrogate key that nothing keeps unique and non-null:
  /// the chunks resume after the last value read, so rows sharing a value across a chunk's
  /// end are missed, and rows where it is NULL are never read.
  private static func surrogateKeyNote(_ table: Described, on connection: PostgresConnection)
    throws -> String?
  {
    guard table.order != table.primaryKey, let column = table.order.first else { return nil }
    let row = try connection.execute(
      """
      SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::oid AND i.indisunique
          AND i.indnatts = 1 AND i.indpred IS NULL
          AND i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = $1::oid AND attname = $2)),
        (SELECT attnotnull FROM pg_attribute WHERE attrelid = $1::oid AND attname = $2)
      """, ["\(table.oid)", column]
    ).first
    let unique = row?[0] == "t"
    let notNull = row?[1] == "t"
    guard !unique || !notNull else { return nil }
    let missing = [unique ? nil : "unique", notNull ? nil : "NOT NULL"].compactMap { $0 }
    return
      "surrogate-key \(column) of \(table.quoted) is not declared \(missing.joined(separator: " and ")): rows sharing a value across a chunk's end are missed, and rows where it is NULL are never read"
  }

  /// The largest order key (with the filter): where the table's read ends. Nil: no row.
  private static func maximumKey(
    of table: Described, filter: String?, on connection: PostgresConnection
  ) throws -> [String]? {
    let columns = table.order.map { "t." + quoteIdentifier($0) }
    var sql =
      "SELECT \(columns.map { $0 + "::text" }.joined(separator: ", ")) FROM \(table.quoted) t"
    // Rows whose surrogate key is NULL sort last but are never read: they must not be the end.
    var conditions = columns.map { "\($0) IS NOT NULL" }
    if let filter { conditions.append("(\(filter))") }
    sql += " WHERE " + conditions.joined(separator: " AND ")
    sql += " ORDER BY " + columns.map { $0 + " DESC" }.joined(separator: ", ")
    sql += " LIMIT 1"
    guard let row = try connection.execute(sql).first else { return nil }
    return row.map { $0 ?? "" }
  }

  /// The chunk: up to `limit` rows after `after` up to `upTo`, in order-key order, as text.
  private static func select(
    _ table: Described, after: [String]?, upTo maximum: [String], filter: String?, limit: Int,
    on connection: PostgresConnection
  ) throws -> [[String?]] {
    var sql =
      "SELECT " + table.columns.map { "t." + quoteIdentifier($0.name) }.joined(separator: ", ")
    sql +=
      " FROM \(table.quoted) t WHERE (\(table.orderList)) <= (\(table.orderParameters(from: 1)))"
    var parameters: [String?] = maximum
    if let after {
      sql += " AND (\(table.orderList)) > (\(table.orderParameters(from: parameters.count + 1)))"
      parameters += after
    }
    if let filter { sql += " AND (\(filter))" }
    sql += " ORDER BY \(table.orderList) LIMIT \(limit)"
    return try connection.execute(sql, parameters)
  }
}
