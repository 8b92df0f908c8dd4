import Foundation

extension PostgresConnection {
  /// SQLSTATEs of a concurrent creation of the same object: `unique_violation` (the `pg_type`
  /// or `pg_class` row another session just inserted), `duplicate_table`, `duplicate_object`.
  package static let concurrentCreationStates: Set<String> = ["23505", "42P07", "42710"]

  /// Runs a schema change such as `CREATE TABLE IF NOT EXISTS` so that sessions starting
  /// together cannot trip over each other.
  ///
  /// `IF NOT EXISTS` is not race-free in PostgreSQL: two sessions may both find the table
  /// missing and the second fails with a unique violation on `pg_type`. So the statement runs
  /// in a transaction holding an advisory lock named after `object` (every Sluice session
  /// creating it takes the same one, so they run one after another and the later one finds
  /// the table); a creation by anything else that still collides is retried once, when
  /// `IF NOT EXISTS` sees the object. Must not be called inside another transaction.
  package func changeSchema(_ statement: String, object: String) throws {
    do {
      try lockedSchemaChange(statement, object: object)
    } catch let error as PostgresError
      where error.sqlState.map(Self.concurrentCreationStates.contains) == true
    {
      try lockedSchemaChange(statement, object: object)
    }
  }

  private func lockedSchemaChange(_ statement: String, object: String) throws {
    try execute("BEGIN")
    do {
      try execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", ["sluice ddl " + object])
      try execute(statement)
      try execute("COMMIT")
    } catch {
      if isHealthy { _ = try? execute("ROLLBACK") }
      throw error
    }
  }
}
