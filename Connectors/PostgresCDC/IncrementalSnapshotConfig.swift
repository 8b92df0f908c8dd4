import SluiceCore

/// The keys of incremental snapshots on signal, in one place: `signal_data_collection`
/// (Debezium's `signal.data.collection`), the table whose inserts are signals, and
/// `incremental_chunk_size` (Debezium's `incremental.snapshot.chunk.size`), the rows read per
/// chunk. Signals through the admin API need neither.
struct IncrementalSnapshotConfig: Sendable, Equatable {
  /// The signal table (columns `id`, `type`, `data`), added to the publication; nil: none.
  var signalTable: QualifiedName?
  var chunkSize: Int

  static let defaultChunkSize = 1024

  static let definitions: [ConfigKeyDefinition] = [
    .init(
      "signal_data_collection", .string, importance: .low, group: "Incremental snapshots",
      "Debezium's signal.data.collection: a table schema.table with columns id, type and data (text) whose inserts are signals (execute-snapshot, stop-snapshot, pause-snapshot, resume-snapshot). Sluice adds it to the publication; its rows go to a topic only when it is in tables. Signals through POST /connectors/{name}/signals need no table."
    ),
    .init(
      "incremental_chunk_size", .int, default: "1024", importance: .low,
      group: "Incremental snapshots",
      "Debezium's incremental.snapshot.chunk.size: rows read per chunk of an incremental snapshot (1 to 1000000)."
    ),
  ]

  init(signalTable: QualifiedName? = nil, chunkSize: Int = Self.defaultChunkSize) {
    self.signalTable = signalTable
    self.chunkSize = chunkSize
  }

  init(_ m: ConfigMapping) throws {
    self.init()
    if let node = m.node("signal_data_collection") {
      let text = try node.string()
      guard let name = QualifiedName(parsing: text) else {
        throw node.error("expected a table as schema.table, got '\(text)'")
      }
      signalTable = name
    }
    chunkSize = try m.int(
      "incremental_chunk_size", default: Self.defaultChunkSize, range: 1...1_000_000)
  }
}

extension IncrementalSnapshotConfig {
  /// The tables of a publication Sluice makes for `listed`: with the signal table, whose
  /// inserts the stream must see.
  func published(_ listed: [QualifiedName]) -> [QualifiedName] {
    guard let signalTable, !listed.contains(signalTable) else { return listed }
    return listed + [signalTable]
  }
}

extension CDCConfig {
  /// The signal table when its own rows are not captured (it is not in `tables`): in the
  /// publication only for its signals, so a `data-collections` expression never selects it.
  var uncapturedSignalTable: QualifiedName? {
    guard let signalTable = incremental.signalTable, case .listed(let names) = tables,
      !names.contains(signalTable)
    else { return nil }
    return signalTable
  }
}
