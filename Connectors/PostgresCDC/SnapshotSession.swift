import Dispatch
import Foundation
import SluiceCore
import SluicePostgres

/// The connections of one snapshot segment: a replication connection that creates a temporary
/// slot and exports its snapshot, and `readers` connections that import it (`SET TRANSACTION
/// SNAPSHOT`), so they all see the same rows, and read parts of the tables with `COPY (SELECT
/// …) TO STDOUT`. Each reader runs on a serial queue of its own (libpq blocks; STYLE.md §3).
/// The temporary slot goes as soon as the readers hold the snapshot, so it pins no WAL.
final class SnapshotSession: @unchecked Sendable {
  /// The snapshot a segment reads under.
  struct Start: Sendable {
    /// The temporary slot's consistent point: the snapshot holds every transaction that
    /// committed before it, and the main slot streams the ones at or after it.
    var lsn: LSN
    var xid: UInt64
    var milliseconds: Int64
  }

  /// A table as the snapshot sees it.
  struct Table: Sendable {
    var relation: PgOutputMessage.Relation
    var primaryKey: [String]
    /// Nil for a table without a primary key (read by ctid, in block order).
    var keyOrder: KeyOrder?
    /// PostgreSQL's estimate (`reltuples`); nil when the table was never analysed.
    var estimatedRows: Int64?
    /// The table's size in blocks when described.
    var blocks: Int = 0
    /// The types created in the database that its columns use.
    var userTypes: [UInt32: UserType] = [:]
    /// NOT NULL and constant defaults (Debezium's schemas; NULLs written as the default).
    var facts: ColumnFacts? = nil
  }

  /// One reader connection and the queue its libpq calls run on.
  private final class Reader: @unchecked Sendable {
    let queue: DispatchQueue
    /// Touched only on `queue`.
    var connection: PostgresConnection?
    init(label: String) { queue = DispatchQueue(label: label) }
  }

  private let config: CDCConfig
  private let setupQueue: DispatchQueue
  /// Set once by ``begin(readers:)``, before any other call.
  private var readers: [Reader] = []

  init(config: CDCConfig) {
    self.config = config
    setupQueue = DispatchQueue(label: "sluice.postgres-cdc.\(config.name).snapshot")
  }

  private func run<T: Sendable>(
    on reader: Int = 0, _ work: @escaping @Sendable (PostgresConnection) throws -> T
  ) async throws -> T {
    let reader = readers[reader]
    return try await withCheckedThrowingContinuation { continuation in
      reader.queue.async {
        continuation.resume(
          with: Result {
            guard let connection = reader.connection else {
              throw PostgresError(sqlState: nil, message: "the snapshot transaction is not open")
            }
            return try work(connection)
          })
      }
    }
  }

  /// Creates the temporary slot, imports its snapshot into `readers` read-only transactions,
  /// and lets the slot go.
  func begin(readers count: Int) async throws -> Start {
    let config = self.config
    readers = (0..<max(1, count)).map {
      Reader(label: "sluice.postgres-cdc.\(config.name).snapshot.\($0)")
    }
    let readers = self.readers
    return try await withCheckedThrowingContinuation { continuation in
      setupQueue.async {
        continuation.resume(
          with: Result {
            let replication = try PostgresConnection.changeCapture(
              url: config.url, password: config.password,
              applicationName: "sluice \(config.name) snapshot slot", replication: true)
            return try withExtendedLifetime(replication) {
              let slot = "sluice_snapshot_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
              let created = try replication.simpleQuery(
                "CREATE_REPLICATION_SLOT \(slot) TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')")
              guard let row = created.first, row.count >= 3,
                let lsn = row[1].flatMap({ LSN($0) }), let snapshot = row[2]
              else {
                throw PostgresError(sqlState: nil, message: "the server exported no snapshot")
              }
              var info: [String?]?
              // Every reader imports the snapshot while the slot's connection still holds it.
              for (i, reader) in readers.enumerated() {
                let connection = try PostgresConnection.changeCapture(
                  url: config.url, password: config.password,
                  applicationName: "sluice \(config.name) snapshot \(i)")
                // Keyless tables are read in block order: no scan may start mid-table.
                try connection.simpleQuery(
                  "SET synchronize_seqscans = off; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT \(quoteLiteral(snapshot))"
                )
                if i == 0 {
                  info = try connection.execute(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text, (extract(epoch FROM now()) * 1000)::bigint::text"
                  ).first
                }
                reader.queue.sync { reader.connection = connection }
              }
              return Start(
                lsn: lsn, xid: info?[0].flatMap { UInt64($0) } ?? 0,
                milliseconds: info?[1].flatMap { Int64($0) } ?? currentTimeMillis())
            }
          })
      }
    }
  }

  /// The publication's tables as of the snapshot, for `tables: "*"`.
  func publishedTables() async throws -> [QualifiedName] {
    let publication = config.publication
    return try await run { reader in
      try reader.execute(
        "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2",
        [publication]
      ).map { QualifiedName(schema: $0[0] ?? "", table: $0[1] ?? "") }
    }
  }

  /// The table's columns (those pgoutput sends: not dropped, not generated) and key.
  func describe(_ name: QualifiedName, conversion: ValueConversionOptions = .debezium)
    async throws -> Table
  {
    try await run { reader in
      guard
        let row = try reader.execute(
          """
          SELECT c.oid::text, c.relreplident::text, c.reltuples::bigint::text,
            (pg_relation_size(c.oid) / current_setting('block_size')::int)::text
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2
          """, [name.schema, name.table]
        ).first, let oid = row[0].flatMap({ UInt32($0) })
      else { throw SetupError("table \(name) does not exist (tables: names schema.table)") }
      let primaryKey = try ControlConnection.primaryKey(of: oid, on: reader)
      let columns = try reader.execute(
        """
        SELECT attname, atttypid::text, atttypmod::text FROM pg_attribute
        WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
        ORDER BY attnum
        """, ["\(oid)"]
      ).map { column in
        PgOutputMessage.Column(
          name: column[0] ?? "", typeOID: column[1].flatMap { UInt32($0) } ?? 0,
          typeModifier: column[2].flatMap { Int32($0) } ?? -1,
          isKey: primaryKey.contains(column[0] ?? ""))
      }
      let userTypes = try ControlConnection.userTypes(
        columns.map(\.typeOID).filter(ColumnKind.needsCatalog), on: reader)
      let relation = PgOutputMessage.Relation(
        oid: oid, schema: name.schema, name: name.table,
        replicaIdentity: row[1]?.utf8.first ?? UInt8(ascii: "d"), columns: columns)
      let keyOrder =
        primaryKey.isEmpty
        ? nil
        : KeyOrder(
          table: name,
          columns: primaryKey.map { key in
            let column = columns.first { $0.name == key }
            return (
              key,
              column.map {
                ColumnKind.of($0.typeOID, modifier: $0.typeModifier, userTypes: userTypes)
              } ?? .text
            )
          }, options: conversion)
      let estimate = row[2].flatMap { Int64($0) }
      let facts = try ControlConnection.columnFacts(of: oid, on: reader)
      return Table(
        relation: relation, primaryKey: primaryKey, keyOrder: keyOrder,
        estimatedRows: estimate.flatMap { $0 >= 0 ? $0 : nil },
        blocks: row[3].flatMap { Int($0) } ?? 0, userTypes: userTypes, facts: facts)
    }
  }

  /// The rows whose keys cut `table` into about `count` ranges of as many rows, from a sample
  /// of its blocks (`TABLESAMPLE SYSTEM`, about 20,000 rows), in key order; columns as
  /// ``Table/relation`` lists them, as text.
  func rangeBoundaries(of table: Table, count: Int) async throws -> [[String?]] {
    guard let order = table.keyOrder, count > 1 else { return [] }
    let rows = Double(max(table.estimatedRows ?? 0, 1))
    let percent = min(100, max(0.01, 100 * 20_000 / rows))
    let keys = order.columns(alias: "s")
    let columns = table.relation.columns.map { "t." + quoteIdentifier($0.name) }
    let joined = order.columns.map {
      "t.\(quoteIdentifier($0.name)) = q.\(quoteIdentifier($0.name))"
    }
    let name = table.relation.qualifiedName.quoted
    let sql = """
      WITH q AS (SELECT \(keys), row_number() OVER (ORDER BY \(keys)) AS n, count(*) OVER () AS c
        FROM \(name) s TABLESAMPLE SYSTEM (\(String(format: "%.4f", percent))))
      SELECT \(columns.joined(separator: ", ")) FROM \(name) t JOIN q ON \(joined.joined(separator: " AND "))
      WHERE q.c >= \(count) AND q.n % (q.c / \(count)) = 0 AND q.n <= (q.c / \(count)) * \(count - 1)
      ORDER BY \(order.columns(alias: "t"))
      """
    return try await run { reader in try reader.execute(sql) }
  }

  /// Starts reading `part` of `table` on reader `reader`: the table's columns in key order
  /// (block order for a keyless table) after `after` (a key, or a ctid), then per key in
  /// `boundaries` whether the row's key is at or before it, then for a keyless table the
  /// row's ctid. Then ``read(reader:max:into:)`` until it returns false.
  func copy(
    _ table: Table, part: SnapshotProgress.Part, after: String?, boundaries: [String],
    reader: Int
  ) async throws {
    var select = table.relation.columns.map { "t." + quoteIdentifier($0.name) }
    var conditions: [String] = []
    var order = ""
    if let keyOrder = table.keyOrder {
      let keys = keyOrder.columns(alias: "t")
      for boundary in boundaries {
        select.append("(\(keys)) <= (\(keyOrder.key(literal: boundary)))")
      }
      if let after = after ?? part.after {
        conditions.append("(\(keys)) > (\(keyOrder.key(literal: after)))")
      }
      if let upTo = part.upTo {
        conditions.append("(\(keys)) <= (\(keyOrder.key(literal: upTo)))")
      }
      order = " ORDER BY \(keys)"
    } else {
      // A TID range scan reads the blocks in order, so the last ctid read says how far it got.
      select.append("t.ctid")
      if let after {
        conditions.append("t.ctid > \(quoteLiteral(after))::tid")
      } else if let first = part.firstBlock {
        conditions.append("t.ctid >= '(\(first),0)'::tid")
      }
      if let end = part.endBlock { conditions.append("t.ctid < '(\(end),0)'::tid") }
    }
    var sql = "COPY (SELECT \(select.joined(separator: ", ")) FROM "
    sql += table.relation.qualifiedName.quoted + " t"
    if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
    sql += order + ") TO STDOUT"
    try await run(on: reader) { [sql] connection in try connection.startCopyOut(sql) }
  }

  /// Hands up to `max` rows of reader `reader`'s COPY to `encoder`, on the reader's queue;
  /// false once the COPY has ended.
  func read(reader: Int, max: Int, into encoder: SnapshotRowEncoder) async throws -> Bool {
    try await run(on: reader) { connection in
      try encoder.encodeRows { rows in try connection.copyOut(max: max, rows) }
    }
  }

  /// Ends the snapshot transactions and closes the readers. A reader cut short in the middle
  /// of a COPY is closed as it is: the server ends its transaction.
  func finish() async {
    for reader in readers {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        reader.queue.async {
          if let connection = reader.connection, connection.isIdle {
            _ = try? connection.simpleQuery("COMMIT")
          }
          reader.connection = nil
          continuation.resume()
        }
      }
    }
  }
}

extension PgOutputMessage.Relation {
  var qualifiedName: QualifiedName { QualifiedName(schema: schema, table: name) }
}
