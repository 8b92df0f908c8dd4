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

  /// Plans and applies `changes`.
  func apply(_ changes: [RowChange], fold: Bool) throws {
    try execute(BatchPlanner(mode: mode, tables: tables).plan(changes, fold: fold))
  }

  func execute(_ steps: [PlannedStep]) throws {
    for step in steps { try execute(step) }
  }

  private func execute(_ step: PlannedStep) throws {
    let run = step
    if step.kind == .truncate {
      try connection.execute("TRUNCATE \(step.table.quoted)")
      return
    }
    let columnSQL = run.columns.map(quoteIdentifier).joined(separator: ", ")
    if run.kind == .write && mode == .insert {
      try connection.copyIn("COPY \(run.table.quoted) (\(columnSQL)) FROM STDIN", data: step.rows)
      return
    }
    if run.kind == .write && mode == .upsert, let history, history.triesCopy() {
      try connection.execute("SAVEPOINT sluice_copy")
      do {
        try connection.copyIn(
          "COPY \(run.table.quoted) (\(columnSQL)) FROM STDIN", data: step.rows)
        try connection.execute("RELEASE SAVEPOINT sluice_copy")
        history.copied()
        return
      } catch let error as PostgresError where error.sqlState == "23505" {
        try connection.execute("ROLLBACK TO SAVEPOINT sluice_copy")
        history.conflicted()
      }
    }
    guard let staging = tables[run.table]?.staging else {
      throw PostgresError(sqlState: nil, message: "no staging table for \(run.table)")
    }
    try connection.copyIn("COPY \(staging) (\(columnSQL)) FROM STDIN", data: step.rows)
    let keyColumns = step.keyColumns
    let matches = keyColumns.map { "t.\(quoteIdentifier($0)) = s.\(quoteIdentifier($0))" }
      .joined(separator: " AND ")
    switch (run.kind, mode) {
    case (.delete, _):
      try connection.execute(
        "DELETE FROM \(run.table.quoted) t USING \(staging) s WHERE \(matches)")
    case (_, .update):
      let sets = run.columns.filter { !keyColumns.contains($0) }.map {
        "\(quoteIdentifier($0)) = s.\(quoteIdentifier($0))"
      }
      if !sets.isEmpty {
        try connection.execute(
          "UPDATE \(run.table.quoted) t SET \(sets.joined(separator: ", ")) FROM \(staging) s WHERE \(matches)"
        )
      }
    default:
      let updates = run.columns.filter { !keyColumns.contains($0) }.map {
        "\(quoteIdentifier($0)) = EXCLUDED.\(quoteIdentifier($0))"
      }
      let action =
        updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET \(updates.joined(separator: ", "))"
      try connection.execute(
        """
        INSERT INTO \(run.table.quoted) (\(columnSQL)) SELECT \(columnSQL) FROM \(staging)
        ON CONFLICT (\(keyColumns.map(quoteIdentifier).joined(separator: ", "))) \(action)
        """)
    }
    try connection.execute("TRUNCATE \(staging)")
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
