import SluiceCore
import SluicePostgres

extension PostgresCDCConnector {
  /// `POST /connectors/{c}/signals`: checks the signal (400 with the reason), then writes it
  /// into the WAL, where the task meets it in commit order between the changes it streams —
  /// the same durable, ordered path as a row of the signal table. PostgreSQL 14+ carries it as
  /// a transactional logical message (`pg_logical_emit_message`); an older server needs the
  /// signal table, into which it is inserted.
  func signal(_ signal: ConnectorSignal) async throws -> String {
    do {
      _ = try SnapshotSignal.parse(id: signal.id, type: signal.type, data: signal.data)
    } catch {
      throw ConnectorSignalError(.invalid, error.description)
    }
    let control = ControlConnection(config: config, purpose: "signal")
    let signalTable = config.incremental.signalTable
    let document = signal.jsonText
    let dataText = signal.data == .null ? nil : signal.data.jsonText
    let written: Result<String, ConnectorSignalError>
    do {
      written = try await control.run { connection in
        if connection.serverVersion >= 140000 {
          let lsn =
            try connection.execute(
              "SELECT pg_logical_emit_message(true, $1, $2::text)::text",
              [WatermarkMessage.signalPrefix, document]
            ).first?.first ?? nil
          return .success("signal written to the WAL at \(lsn ?? "?")")
        }
        guard let signalTable else {
          return .failure(
            ConnectorSignalError(
              .refused,
              "PostgreSQL before 14 carries no logical messages: configure signal_data_collection to send signals through the signal table"
            ))
        }
        try connection.execute(
          "INSERT INTO \(signalTable.quoted) (id, type, data) VALUES ($1, $2, $3)",
          [signal.id, signal.type, dataText])
        return .success("signal inserted into \(signalTable)")
      }
    } catch {
      await control.close()
      throw error
    }
    await control.close()
    return try written.get()
  }
}
