import SluicePostgres

extension IncrementalSnapshotConfig {
  /// The signal table must exist with Debezium's columns (`id`, `type`, `data`).
  func checkSignalTable(on connection: PostgresConnection) throws {
    guard let signalTable else { return }
    let columns = Set(
      try connection.execute(
        """
        SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
        """, [signalTable.schema, signalTable.table]
      ).compactMap { $0[0] })
    guard !columns.isEmpty else {
      throw SetupError(
        "the signal table \(signalTable) (signal_data_collection) does not exist; create it with CREATE TABLE \(signalTable.quoted) (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data text);"
      )
    }
    let missing = ["id", "type", "data"].filter { !columns.contains($0) }
    guard missing.isEmpty else {
      throw SetupError(
        "the signal table \(signalTable) (signal_data_collection) lacks the column(s) \(missing.joined(separator: ", ")); Debezium's signal table has id, type and data"
      )
    }
  }
}
