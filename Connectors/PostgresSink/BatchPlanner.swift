/// One statement's worth of a batch: a truncate, or rows encoded for `COPY` with what to do
/// with them once copied. Planning needs no connection, so the sink plans a batch while the
/// previous one is still being written.
struct PlannedStep: Sendable {
  var kind: RowChange.Kind
  var table: TableName
  var columns: [String]
  var keyColumns: [String]
  /// The rows in COPY's text format.
  var rows: [UInt8]
}

/// Turns row changes into ``PlannedStep``s, as few as the mode allows.
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
struct BatchPlanner {
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

  func plan(_ changes: [RowChange], fold: Bool) -> [PlannedStep] {
    // Truncates cut the batch into segments applied in order.
    var steps: [PlannedStep] = []
    var start = 0
    for (i, change) in changes.enumerated() where change.kind == .truncate {
      steps += planSegment(changes[start..<i], fold: fold)
      steps.append(
        PlannedStep(kind: .truncate, table: change.table, columns: [], keyColumns: [], rows: []))
      start = i + 1
    }
    return steps + planSegment(changes[start...], fold: fold)
  }

  private func planSegment(_ changes: ArraySlice<RowChange>, fold: Bool) -> [PlannedStep] {
    guard !changes.isEmpty else { return [] }
    if fold && mode != .insert && !Self.distinctWrites(changes) {
      let (folded, runs) = Self.foldedRuns(changes)
      return runs.map { encode($0, folded[...]) }
    }
    return Self.orderedRuns(changes).map { encode($0, changes) }
  }

  /// Whether every change is a write and no key repeats, so folding would change nothing: the
  /// usual batch of a load, checked by hashing keys in place rather than building them. A hash
  /// collision only costs the fold.
  private static func distinctWrites(_ changes: ArraySlice<RowChange>) -> Bool {
    var seen = Set<Int>(minimumCapacity: changes.count)
    for change in changes {
      guard change.kind == .write else { return false }
      var hasher = Hasher()
      hasher.combine(change.table)
      for value in change.key {
        value.bytes.withUnsafeBytes {
          hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: $0[value.range]))
        }
        hasher.combine(0 as UInt8)
      }
      guard seen.insert(hasher.finalize()).inserted else { return false }
    }
    return true
  }

  /// Consecutive changes of one kind, table and column list, in batch order.
  private static func orderedRuns(_ changes: ArraySlice<RowChange>) -> [Run] {
    var runs: [Run] = []
    for i in changes.indices {
      let change = changes[i]
      if let last = runs.last, last.kind == change.kind, last.table == change.table,
        (change.kind == .delete ? change.key : change.fields).hasColumns(last.columns)
      {
        runs[runs.count - 1].members.append(i)  // in place: a copy would make this quadratic
      } else {
        runs.append(
          Run(kind: change.kind, table: change.table, columns: columnList(change), members: [i]))
      }
    }
    return runs
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

  // MARK: - Encoding

  private func encode(_ run: Run, _ changes: ArraySlice<RowChange>) -> PlannedStep {
    let schema = tables[run.table]
    let columns = run.columns.map {
      schema?.columns[$0] ?? TableColumn(name: $0, type: "text", encoding: .text)
    }
    var copy = CopyText(capacity: run.members.count * 128)
    for i in run.members {
      copy.appendRow(run.kind == .delete ? changes[i].key : changes[i].fields, columns: columns)
    }
    return PlannedStep(
      kind: run.kind, table: run.table, columns: run.columns,
      keyColumns: changes[run.members[0]].key.map(\.column), rows: copy.bytes)
  }
}
