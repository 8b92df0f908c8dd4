import Dispatch
import SluicePostgres

/// The ordinary (non-replication) connection of a CDC task: setup, primary-key lookups,
/// heartbeats and slot statistics, each run on a serial queue of its own so libpq never
/// blocks Swift's cooperative pool. Reconnects on the next call after a failure.
final class ControlConnection: @unchecked Sendable {
  private let config: CDCConfig
  private let queue: DispatchQueue
  /// Touched only on `queue`.
  private var connection: PostgresConnection?

  private let applicationName: String

  /// `purpose` names a second connection of the same task (`slot health`) in its queue and in
  /// `pg_stat_activity`.
  init(config: CDCConfig, purpose: String? = nil) {
    self.config = config
    let suffix = purpose.map { " " + $0 } ?? ""
    applicationName = "sluice \(config.name)\(suffix)"
    queue = DispatchQueue(
      label: "sluice.postgres-cdc.\(config.name)" + (purpose.map { "." + $0 } ?? ""))
  }

  /// Runs `work` with a working connection on the queue.
  func run<T: Sendable>(_ work: @escaping @Sendable (PostgresConnection) throws -> T) async throws
    -> T
  {
    try await withCheckedThrowingContinuation { continuation in
      queue.async {
        continuation.resume(
          with: Result {
            do {
              return try work(try self.connected())
            } catch {
              if self.connection?.isHealthy == false { self.connection = nil }
              throw error
            }
          })
      }
    }
  }

  /// Closes the connection.
  func close() async {
    await withCheckedContinuation { continuation in
      queue.async {
        self.connection = nil
        continuation.resume()
      }
    }
  }

  private func connected() throws -> PostgresConnection {
    if let connection, connection.isHealthy { return connection }
    connection = nil
    let fresh = try PostgresConnection.changeCapture(
      url: config.url, password: config.password, applicationName: applicationName)
    connection = fresh
    return fresh
  }

  // MARK: - Queries

  /// The primary-key columns of a table, in key order (empty when it has none).
  static func primaryKey(of oid: UInt32, on connection: PostgresConnection) throws -> [String] {
    try connection.execute(
      """
      SELECT a.attname FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.n
      """, ["\(oid)"]
    ).compactMap { $0[0] }
  }

  /// What `pg_type` says of types created in the database (`oids`), and of the base and
  /// element types they name in turn, for writing their values as Debezium does.
  static func userTypes(_ oids: [UInt32], on connection: PostgresConnection) throws
    -> [UInt32: UserType]
  {
    var found: [UInt32: UserType] = [:]
    var wanted = Set(oids)
    // Domains over domains and arrays of domains: a few rounds reach the built-in types.
    for _ in 0..<8 where !wanted.isEmpty {
      let rows = try connection.execute(
        """
        SELECT oid::text, typname, typtype::text, typbasetype::text, typtypmod::text,
          typelem::text, typcategory::text,
          (SELECT array_agg(enumlabel ORDER BY enumsortorder)::text FROM pg_enum
            WHERE enumtypid = t.oid)
        FROM pg_type t WHERE oid = ANY($1::oid[])
        """, ["{" + wanted.map(String.init).joined(separator: ",") + "}"])
      wanted = []
      for row in rows {
        guard let oid = row[0].flatMap({ UInt32($0) }) else { continue }
        let base = row[3].flatMap { UInt32($0) } ?? 0
        let element = row[5].flatMap { UInt32($0) } ?? 0
        let type: UserType
        if row[2] == "d", base != 0 {
          type = .domain(base: base, modifier: row[4].flatMap { Int32($0) } ?? -1)
          if ColumnKind.needsCatalog(base), found[base] == nil { wanted.insert(base) }
        } else if row[6] == "A", element != 0 {
          type = .array(element: element)
          if ColumnKind.needsCatalog(element), found[element] == nil { wanted.insert(element) }
        } else if row[2] == "e" {
          type = .enumeration(labels: row[7].map(Self.arrayElements) ?? [])
        } else {
          type = .named(row[1] ?? "")
        }
        found[oid] = type
      }
      wanted.subtract(found.keys)
    }
    return found
  }

  /// NOT NULL and constant defaults of a table's columns, for `schemas: true`
  /// (``ChangeStream/columnFacts``).
  static func columnFacts(of oid: UInt32, on connection: PostgresConnection) throws -> ColumnFacts {
    let rows = try connection.execute(
      """
      SELECT a.attname, a.attnotnull::text, pg_get_expr(d.adbin, d.adrelid)
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      """, ["\(oid)"])
    var columns: [String: ColumnFacts.Column] = [:]
    for row in rows {
      guard let name = row[0] else { continue }
      columns[name] = ColumnFacts.Column(
        notNull: row[1] == "true", defaultLiteral: row[2].flatMap(ColumnFacts.literal(ofDefault:)))
    }
    return ColumnFacts(columns: columns)
  }

  /// The elements of a one-dimensional text array's literal (`{a,"b c"}`).
  static func arrayElements(_ literal: String) -> [String] {
    var parser = ArrayLiteralParser(bytes: Array(literal.utf8))
    guard case .array(let items)? = parser.parse() else { return [] }
    return items.compactMap {
      if case .element(let text) = $0 { String(decoding: text, as: UTF8.self) } else { nil }
    }
  }

  /// The slot's confirmed LSN and how many bytes of WAL it holds back.
  /// The tables a snapshot on signal may read: the publication's, but the signal table when
  /// its own rows are not captured, ordered by schema and name.
  static func capturedTables(
    publication: String, except signalTable: QualifiedName?, on connection: PostgresConnection
  ) throws -> [QualifiedName] {
    try connection.execute(
      "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2",
      [publication]
    ).map { QualifiedName(schema: $0[0] ?? "", table: $0[1] ?? "") }.filter { $0 != signalTable }
  }

  static func slotLag(slot: String, on connection: PostgresConnection) throws -> (LSN?, Int64?) {
    let row = try connection.execute(
      """
      SELECT confirmed_flush_lsn, pg_current_wal_lsn() - confirmed_flush_lsn
      FROM pg_replication_slots WHERE slot_name = $1
      """, [slot]
    ).first
    return (row?[0].flatMap { LSN($0) }, row?[1].flatMap { Int64($0) })
  }

  /// Writes a transactional message to the WAL so an idle slot has something to confirm.
  static func heartbeat(on connection: PostgresConnection) throws {
    try connection.execute(
      "SELECT pg_logical_emit_message(true, '\(ChangeStream.heartbeatPrefix)', '')")
  }
}
