import Dispatch
import Foundation
import SluiceCore
import SluicePostgres

/// The connections of one snapshot segment, on a serial queue of their own (libpq blocks):
/// a replication connection that creates a temporary slot and exports its snapshot, and a
/// reader that imports it (`SET TRANSACTION SNAPSHOT`) and reads the tables with a cursor.
/// The temporary slot goes as soon as the reader holds the snapshot, so it pins no WAL.
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
    /// Nil for a table without a primary key (read whole, in no particular order).
    var keyOrder: KeyOrder?
    /// PostgreSQL's estimate (`reltuples`); nil when the table was never analysed.
    var estimatedRows: Int64?
    /// The types created in the database that its columns use.
    var userTypes: [UInt32: UserType] = [:]
    /// NOT NULL and constant defaults (Debezium's schemas; NULLs written as the default).
    var facts: ColumnFacts? = nil
  }

  private let config: CDCConfig
  private let queue: DispatchQueue
  /// Touched only on `queue`.
  private var reader: PostgresConnection?
  private static let cursor = "sluice_snapshot"

  init(config: CDCConfig) {
    self.config = config
    queue = DispatchQueue(label: "sluice.postgres-cdc.\(config.name).snapshot")
  }

  private func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result { try work() }) }
    }
  }

  private func connectedReader() throws -> PostgresConnection {
    guard let reader else {
      throw PostgresError(sqlState: nil, message: "the snapshot transaction is not open")
    }
    return reader
  }

  /// Creates the temporary slot, imports its snapshot into a read-only transaction, and lets
  /// the slot go.
  func begin() async throws -> Start {
    let config = self.config
    return try await run {
      let replication = try PostgresConnection.changeCapture(
        url: config.url, password: config.password,
        applicationName: "sluice \(config.name) snapshot slot", replication: true)
      return try withExtendedLifetime(replication) {
        let slot = "sluice_snapshot_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let created = try replication.simpleQuery(
          "CREATE_REPLICATION_SLOT \(slot) TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')")
        guard let row = created.first, row.count >= 3, let lsn = row[1].flatMap({ LSN($0) }),
          let snapshot = row[2]
        else {
          throw PostgresError(sqlState: nil, message: "the server exported no snapshot")
        }
        let reader = try PostgresConnection.changeCapture(
          url: config.url, password: config.password,
          applicationName: "sluice \(config.name) snapshot")
        try reader.simpleQuery(
          "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT \(quoteLiteral(snapshot))"
        )
        let info = try reader.execute(
          "SELECT pg_snapshot_xmin(pg_current_snapshot())::text, (extract(epoch FROM now()) * 1000)::bigint::text"
        ).first
        self.reader = reader
        return Start(
          lsn: lsn, xid: info?[0].flatMap { UInt64($0) } ?? 0,
          milliseconds: info?[1].flatMap { Int64($0) } ?? currentTimeMillis())
      }
    }
  }

  /// The publication's tables as of the snapshot, for `tables: "*"`.
  func publishedTables() async throws -> [QualifiedName] {
    let publication = config.publication
    return try await run {
      try self.connectedReader().execute(
        "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2",
        [publication]
      ).map { QualifiedName(schema: $0[0] ?? "", table: $0[1] ?? "") }
    }
  }

  /// The table's columns (those pgoutput sends: not dropped, not generated) and key.
  func describe(_ name: QualifiedName, conversion: ValueConversionOptions = .debezium)
    async throws -> Table
  {
    try await run {
      let reader = try self.connectedReader()
      guard
        let row = try reader.execute(
          """
          SELECT c.oid::text, c.relreplident::text, c.reltuples::bigint::text
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
        estimatedRows: estimate.flatMap { $0 >= 0 ? $0 : nil }, userTypes: userTypes,
        facts: facts)
    }
  }

  /// Opens the cursor over `table`'s rows in key order, after the key `after` (JSON) when
  /// given. Each row also says, per key in `boundaries`, whether its key is at or before it.
  func open(_ table: Table, after: String?, boundaries: [String]) async throws {
    var sql = "DECLARE \(Self.cursor) NO SCROLL CURSOR FOR SELECT "
    sql += table.relation.columns.map { "t." + quoteIdentifier($0.name) }.joined(separator: ", ")
    var parameters: [String?] = []
    if let order = table.keyOrder {
      let keys = order.columns(alias: "t")
      for boundary in boundaries {
        parameters.append(boundary)
        sql += ", (\(keys)) <= (\(order.key(parameter: parameters.count)))"
      }
      sql += " FROM \(table.relation.qualifiedName.quoted) t"
      if let after {
        parameters.append(after)
        sql += " WHERE (\(keys)) > (\(order.key(parameter: parameters.count)))"
      }
      sql += " ORDER BY \(keys)"
    } else {
      sql += " FROM \(table.relation.qualifiedName.quoted) t"
    }
    try await run { [sql, parameters] in
      try self.connectedReader().execute(sql, parameters)
    }
  }

  /// The next rows of the open cursor; empty at its end.
  func fetch(_ count: Int, valueColumns: Int) async throws -> [PostgresConnection.FetchedRow] {
    try await run {
      try self.connectedReader().fetch(count, from: Self.cursor, valueColumns: valueColumns)
    }
  }

  func closeCursor() async throws {
    try await run { try self.connectedReader().simpleQuery("CLOSE \(Self.cursor)") }
  }

  /// Ends the snapshot transaction and closes the reader.
  func finish() async {
    _ = try? await run {
      try? self.reader?.simpleQuery("COMMIT")
      self.reader = nil
    }
  }
}

extension PgOutputMessage.Relation {
  var qualifiedName: QualifiedName { QualifiedName(schema: schema, table: name) }
}
