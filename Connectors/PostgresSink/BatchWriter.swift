/// Writes row changes inside an open transaction, as few statements as the mode allows.
///
/// - `insert`: each run of writes with the same columns is one `COPY` into the table.
/// - `upsert`: rows are copied into the staging table and merged with one
///   `INSERT … SELECT … ON CONFLICT (key) DO UPDATE`.
/// - `update`: copied into staging, then one `UPDATE … FROM` staging.
/// - deletes: keys copied into staging, then one `DELETE … USING` staging.
///
/// With `fold`, changes to the same key in one batch are reduced first to their final effect
/// (later fields win, a delete wins, a write after a delete deletes then writes), which is what
/// applying them one by one would leave, and lets one merge statement touch each row once.
struct BatchWriter {
  let connection: PostgresConnection
  let mode: PostgresSinkConfig.Mode
  let tables: [TableName: TableSchema]

  /// A group of changes to one table that one statement (after one COPY) applies.
  private struct Run {
    var kind: RowChange.Kind
    var table: TableName
    var columns: [String]
    /// Indices into the changes the run was made from; every one has exactly `columns`.
    var members: [Int]
  }

  mutating func apply(_ changes: [RowChange], fold: Bool) throws {
    // Truncates cut the batch into segments applied in order.
    var start = 0
    for (i, change) in changes.enumerated() where change.kind == .truncate {
      try applySegment(changes[start..<i], fold: fold)
      try connection.execute("TRUNCATE \(change.table.quoted)")
      start = i + 1
    }
    try applySegment(changes[start...], fold: fold)
  }

  private func applySegment(_ changes: ArraySlice<RowChange>, fold: Bool) throws {
    guard !changes.isEmpty else { return }
    if fold && mode != .insert {
      let (folded, runs) = Self.foldedRuns(changes)
      for run in runs { try execute(run, folded[...]) }
    } else {
      for run in Self.orderedRuns(changes) { try execute(run, changes) }
    }
  }

  /// Consecutive changes of one kind, table and column list, in batch order.
  private static func orderedRuns(_ changes: ArraySlice<RowChange>) -> [Run] {
    var runs: [Run] = []
    for i in changes.indices {
      let change = changes[i]
      if let last = runs.last, last.kind == change.kind, last.table == change.table,
        sameColumns(last.columns, change)
      {
        runs[runs.count - 1].members.append(i)  // in place: a copy would make this quadratic
      } else {
        runs.append(
          Run(kind: change.kind, table: change.table, columns: columnList(change), members: [i]))
      }
    }
    return runs
  }

  private static func sameColumns(_ columns: [String], _ change: RowChange) -> Bool {
    let values = change.kind == .delete ? change.key : change.fields
    guard values.count == columns.count else { return false }
    for (value, column) in zip(values, columns) where value.column != column { return false }
    return true
  }

  /// The final effect per key: deletes first (for keys deleted, or deleted then written), then
  /// one merge per table and column list. Keys are distinct afterwards, so order between them
  /// does not matter.
  private static func foldedRuns(_ changes: ArraySlice<RowChange>) -> ([RowChange], [Run]) {
    struct Folded {
      var deleteFirst = false
      var deleted = false
      var write: RowChange?
    }
    var folded: [TableName: [[UInt8]: Folded]] = [:]
    var keyOrder: [TableName: [[UInt8]]] = [:]
    var tableOrder: [TableName] = []
    for change in changes {
      let key = change.keyBytes
      if folded[change.table] == nil {
        folded[change.table] = [:]
        tableOrder.append(change.table)
      }
      var state =
        folded[change.table]![key]
        ?? {
          keyOrder[change.table, default: []].append(key)
          return Folded()
        }()
      switch change.kind {
      case .delete:
        state = Folded(deleteFirst: true, deleted: true, write: change)
      case .write:
        if state.deleted {
          state.deleted = false
          state.write = change
        } else if var merged = state.write, merged.kind == .write {
          for value in change.fields {
            if let i = merged.fields.firstIndex(where: { $0.column == value.column }) {
              merged.fields[i] = value
            } else {
              merged.fields.append(value)
            }
          }
          merged.recordIndex = change.recordIndex
          state.write = merged
        } else {
          state.write = change
        }
      case .truncate:
        continue
      }
      folded[change.table]![key] = state
    }
    var runs: [Run] = []
    var out: [RowChange] = []
    for table in tableOrder {
      let states = keyOrder[table, default: []].compactMap { folded[table]![$0] }
      var deleteRun: Int?
      for state in states where state.deleteFirst {
        guard var change = state.write else { continue }
        change.kind = .delete
        change.fields = []
        if deleteRun == nil {
          deleteRun = runs.count
          runs.append(Run(kind: .delete, table: table, columns: columnList(change), members: []))
        }
        runs[deleteRun!].members.append(out.count)
        out.append(change)
      }
      var writeRuns: [[String]: Int] = [:]
      for state in states where !state.deleted {
        guard let change = state.write, change.kind == .write else { continue }
        let columns = columnList(change)
        if let i = writeRuns[columns] {
          runs[i].members.append(out.count)
        } else {
          writeRuns[columns] = runs.count
          runs.append(Run(kind: .write, table: table, columns: columns, members: [out.count]))
        }
        out.append(change)
      }
    }
    return (out, runs)
  }

  private static func columnList(_ change: RowChange) -> [String] {
    change.kind == .delete ? change.key.map(\.column) : change.fields.map(\.column)
  }

  // MARK: - Statements

  private func execute(_ run: Run, _ changes: ArraySlice<RowChange>) throws {
    guard let schema = tables[run.table] else { return }
    let columns = run.columns.map {
      schema.columns[$0] ?? TableColumn(name: $0, type: "text", encoding: .text)
    }
    var copy = CopyText(capacity: run.members.count * 128)
    for i in run.members {
      copy.appendRow(run.kind == .delete ? changes[i].key : changes[i].fields, columns: columns)
    }
    let columnSQL = run.columns.map(quoteIdentifier).joined(separator: ", ")
    if run.kind == .write && mode == .insert {
      try connection.copyIn("COPY \(run.table.quoted) (\(columnSQL)) FROM STDIN", data: copy.bytes)
      return
    }
    guard let staging = schema.staging else { return }
    try connection.copyIn("COPY \(staging) (\(columnSQL)) FROM STDIN", data: copy.bytes)
    let keyColumns = changes[run.members[0]].key.map(\.column)
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
