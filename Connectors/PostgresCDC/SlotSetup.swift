import SluicePostgres

/// A problem in the database's setup that the user must fix; the message says how.
struct SetupError: Error, CustomStringConvertible, Sendable {
  var description: String
  init(_ description: String) { self.description = description }
}

/// What start-up learned about the database.
struct SlotState: Sendable {
  var database: String
  /// The slot's `confirmed_flush_lsn`: streaming resumes there.
  var confirmed: LSN
  var serverVersion: Int
}

/// Checks that the database can be captured and creates the publication and the slot when
/// missing, on an ordinary connection. Every refusal names what to run to fix it.
struct SlotSetup {
  let config: CDCConfig

  func prepare(on connection: PostgresConnection) throws -> SlotState {
    let walLevel = try connection.execute("SHOW wal_level").first?.first ?? nil
    guard walLevel == "logical" else {
      throw SetupError(
        "wal_level is '\(walLevel ?? "?")' but change data capture needs 'logical'; run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL"
      )
    }
    let role =
      try connection.execute(
        "SELECT current_user, rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user"
      ).first ?? []
    guard role.count == 2, role[1] == "t" else {
      let user = (role.first ?? nil) ?? "?"
      throw SetupError(
        "role '\(user)' may not replicate; run ALTER ROLE \(quoteIdentifier(user)) WITH REPLICATION;"
      )
    }
    let database = try connection.execute("SELECT current_database()").first?.first ?? nil
    try checkTables(on: connection)
    try config.incremental.checkSignalTable(on: connection)
    try ensurePublication(on: connection)
    // `initial_only` reads under snapshots of temporary slots and streams nothing: a slot of
    // its own would only pin WAL.
    let confirmed =
      config.snapshot == .initialOnly
      ? LSN.zero : try ensureSlot(on: connection, database: database ?? "")
    return SlotState(
      database: database ?? "", confirmed: confirmed, serverVersion: connection.serverVersion)
  }

  // MARK: - Tables

  /// Each captured table must exist and identify its rows: a primary key, or REPLICA IDENTITY
  /// FULL or USING INDEX. Otherwise PostgreSQL sends no old row for updates and deletes (and,
  /// in a publication, refuses them).
  func checkTables(on connection: PostgresConnection) throws {
    let query = """
      SELECT n.nspname, c.relname, c.relreplident,
        EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      """
    var rows: [[String?]]
    switch config.tables {
    case .all:
      rows = try connection.execute(
        query
          + " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
      )
    case .listed(let names):
      rows = []
      for name in names {
        let found = try connection.execute(
          query + " AND n.nspname = $1 AND c.relname = $2", [name.schema, name.table])
        guard !found.isEmpty else {
          throw SetupError("table \(name) does not exist (tables: names schema.table)")
        }
        rows += found
      }
    }
    for row in rows {
      let name = QualifiedName(schema: row[0] ?? "", table: row[1] ?? "")
      let identity = row[2] ?? "d"
      let hasPrimaryKey = row[3] == "t"
      if identity == "n" || (identity == "d" && !hasPrimaryKey) {
        throw SetupError(
          "table \(name) has no primary key and REPLICA IDENTITY \(identity == "n" ? "NOTHING" : "DEFAULT"), so its updates and deletes cannot be captured; run ALTER TABLE \(name.quoted) ADD PRIMARY KEY (…); or ALTER TABLE \(name.quoted) REPLICA IDENTITY FULL;"
        )
      }
    }
  }

  // MARK: - Publication

  /// Creates the publication when missing, or adds the tables it lacks. Connectors that
  /// share a publication may start together: when another session creates it first, the
  /// check runs again and finds it.
  func ensurePublication(on connection: PostgresConnection) throws {
    do {
      try ensurePublicationOnce(on: connection)
    } catch let error as PostgresError
      where error.sqlState.map(PostgresConnection.concurrentCreationStates.contains) == true
    {
      try ensurePublicationOnce(on: connection)
    }
  }

  private func ensurePublicationOnce(on connection: PostgresConnection) throws {
    let existing = try connection.execute(
      "SELECT puballtables FROM pg_publication WHERE pubname = $1", [config.publication])
    let publication = quoteIdentifier(config.publication)
    switch config.tables {
    case .all:
      if existing.isEmpty {
        try connection.execute("CREATE PUBLICATION \(publication) FOR ALL TABLES")
      } else if existing[0][0] != "t" {
        throw SetupError(
          "publication '\(config.publication)' exists but not FOR ALL TABLES as tables: \"*\" asks; run DROP PUBLICATION \(publication); or name another publication"
        )
      }
    case .listed(let listed):
      let names = config.incremental.published(listed)
      if existing.isEmpty {
        try connection.execute(
          "CREATE PUBLICATION \(publication) FOR TABLE \(names.map(\.quoted).joined(separator: ", "))"
        )
        return
      }
      if existing[0][0] == "t" { return }
      let published = Set(
        try connection.execute(
          "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1",
          [config.publication]
        ).map { QualifiedName(schema: $0[0] ?? "", table: $0[1] ?? "") })
      let missing = names.filter { !published.contains($0) }
      if !missing.isEmpty {
        try connection.execute(
          "ALTER PUBLICATION \(publication) ADD TABLE \(missing.map(\.quoted).joined(separator: ", "))"
        )
      }
    }
  }

  // MARK: - Slot

  /// Creates the slot when missing; returns where it has confirmed up to.
  func ensureSlot(on connection: PostgresConnection, database: String) throws -> LSN {
    // wal_status is PostgreSQL 13's: a slot it invalidated can never stream again.
    let walStatus = connection.serverVersion >= 130000 ? "wal_status" : "NULL"
    let rows = try connection.execute(
      "SELECT plugin, database, confirmed_flush_lsn, \(walStatus) FROM pg_replication_slots WHERE slot_name = $1",
      [config.slot])
    if let row = rows.first {
      guard row[0] == "pgoutput", row[1] == database else {
        throw SetupError(
          "replication slot '\(config.slot)' exists for plugin \(row[0] ?? "none") in database \(row[1] ?? "none"), not pgoutput in \(database); name another slot or run SELECT pg_drop_replication_slot('\(config.slot)');"
        )
      }
      if row[3] == "lost" {
        throw SetupError(
          SlotHealth.lostMessage(slot: config.slot, connector: config.name))
      }
      return row[2].flatMap { LSN($0) } ?? .zero
    }
    let created: [[String?]]
    do {
      created = try connection.execute(
        "SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", [config.slot])
    } catch let error as PostgresError where error.sqlState == "42710" {
      // Another session created it since the check (duplicate_object): use that one.
      return try ensureSlot(on: connection, database: database)
    }
    return (created.first?.first ?? nil).flatMap { LSN($0) } ?? .zero
  }
}
