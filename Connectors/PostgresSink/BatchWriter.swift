import SluicePostgres
/// Runs ``PlannedStep``s on a connection inside the caller's transaction.
///
/// Upserts of keys that are all new (an initial load, a snapshot) are plain inserts: the writer
/// first tries a `COPY` straight into the table under a savepoint, and only when a key exists
/// (unique violation) rolls back to the savepoint and merges through the staging table. After a
/// conflict it merges directly for a while (``UpsertHistory``), so update-heavy streams do not
/// pay for failed attempts.
struct BatchWriter {
  let connection: PostgresConnection
  let mode: PostgresSinkConfig.Mode
  let tables: [TableName: TableSchema]
  var history: UpsertHistory? = nil
  /// The transaction opens with the first statement (`BEGIN; …` in one round trip).
  private var begun = false

  init(
    connection: PostgresConnection, mode: PostgresSinkConfig.Mode,
    tables: [TableName: TableSchema], history: UpsertHistory? = nil
  ) {
    self.connection = connection
    self.mode = mode
    self.tables = tables
    self.history = history
  }

  /// Plans and applies `changes`.
  mutating func apply(_ changes: [RowChange], fold: Bool) throws {
    try execute(BatchPlanner(mode: mode, tables: tables).plan(changes, fold: fold))
  }

  mutating func execute(_ steps: [PlannedStep]) throws {
    for step in steps { try execute(step) }
  }

  /// Runs `sql` (the offsets row) and commits, in one round trip.
  mutating func commit(after sql: String) throws {
    try simple("\(sql); COMMIT")
  }

  private mutating func opening() -> String {
    defer { begun = true }
    return begun ? "" : "BEGIN; "
  }

  private mutating func simple(_ sql: String) throws {
    try connection.simpleQuery(opening() + sql)
  }

  private mutating func copy(_ sql: String, _ rows: [UInt8]) throws {
    try connection.copyIn(opening() + sql, data: rows)
  }

  private mutating func execute(_ step: PlannedStep) throws {
    if step.kind == .truncate {
      try simple("TRUNCATE \(step.table.quoted)")
      return
    }
    let columnSQL = step.columns.map(quoteIdentifier).joined(separator: ", ")
    if step.kind == .write && mode == .insert {
      try copy("COPY \(step.table.quoted) (\(columnSQL)) FROM STDIN", step.rows)
      return
    }
    if step.kind == .write && mode == .upsert, let history, history.triesCopy() {
      try simple("SAVEPOINT sluice_copy")
      do {
        try copy("COPY \(step.table.quoted) (\(columnSQL)) FROM STDIN", step.rows)
        try simple("RELEASE SAVEPOINT sluice_copy")
        history.copied()
        return
      } catch let error as PostgresError where error.sqlState == "23505" {
        try simple("ROLLBACK TO SAVEPOINT sluice_copy")
        history.conflicted()
      }
    }
    guard let staging = tables[step.table]?.staging else {
      throw PostgresError(sqlState: nil, message: "no staging table for \(step.table)")
    }
    try copy("COPY \(staging) (\(columnSQL)) FROM STDIN", step.rows)
    let keyColumns = step.keyColumns
    let matches = keyColumns.map { "t.\(quoteIdentifier($0)) = s.\(quoteIdentifier($0))" }
      .joined(separator: " AND ")
    switch (step.kind, mode) {
    case (.delete, _):
      try simple(
        "DELETE FROM \(step.table.quoted) t USING \(staging) s WHERE \(matches)")
    case (_, .update):
      let sets = step.columns.filter { !keyColumns.contains($0) }.map {
        "\(quoteIdentifier($0)) = s.\(quoteIdentifier($0))"
      }
      if !sets.isEmpty {
        try simple(
          "UPDATE \(step.table.quoted) t SET \(sets.joined(separator: ", ")) FROM \(staging) s WHERE \(matches)"
        )
      }
    default:
      let updates = step.columns.filter { !keyColumns.contains($0) }.map {
        "\(quoteIdentifier($0)) = EXCLUDED.\(quoteIdentifier($0))"
      }
      let action =
        updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET \(updates.joined(separator: ", "))"
      try simple(
        """
        INSERT INTO \(step.table.quoted) (\(columnSQL)) SELECT \(columnSQL) FROM \(staging)
        ON CONFLICT (\(keyColumns.map(quoteIdentifier).joined(separator: ", "))) \(action)
        """)
    }
    try simple("TRUNCATE \(staging)")
  }
}

/// Whether upserts lately found their keys new, so that a plain `COPY` is worth trying first.
/// Each conflict doubles how many upserts merge directly before the next try (up to 1,024).
final class UpsertHistory: @unchecked Sendable {
  private var skip = 0
  private var penalty = 1

  func triesCopy() -> Bool {
    guard skip == 0 else {
      skip -= 1
      return false
    }
    return true
  }

  func copied() { penalty = 1 }

  func conflicted() {
    skip = penalty
    penalty = min(penalty * 2, 1024)
  }
}
