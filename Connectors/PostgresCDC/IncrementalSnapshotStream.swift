import SluiceCore

/// The incremental snapshot's part of a ``ReplicationSession``: it finds signals (the admin
/// API's WAL messages, inserts into the signal table), watermarks and the snapshotted table's
/// changes in the stream, feeds them to ``IncrementalSnapshot``, renders the rows it releases
/// as `op: "r"` events, and stamps its state on the positions the runtime commits. It does no
/// I/O: chunk reads, log lines and status details wait in ``effects`` for ``CDCSourceTask``
/// to carry out, and types the catalog must describe are asked for
/// (``Outcome/needsUserTypes(_:)``) and answered with ``found(userTypes:changes:)``.
///
/// A chunk's rows are emitted at the high watermark's transaction: positions (commit LSN of
/// that transaction, 0, 1, …), which nothing else uses (the transaction holds only the
/// message), in the order the rows were read. So they sort after every change before the
/// watermark and before every change after it, in each partition.
struct IncrementalSnapshotStream {
  /// What the task does for the stream: the machine's actions and the status it shows.
  enum Effect: Equatable {
    /// Give the request to the ``ChunkReader``.
    case read(IncrementalSnapshot.ChunkRequest)
    /// Log a warning and show it as the task's `incremental_snapshot` warning.
    case warn(String)
    /// Log an info line.
    case log(String)
    /// Log a warning only (a watermark that is not Sluice's to act on).
    case logWarning(String, error: String)
    /// An execute signal was accepted: the warning of an earlier refusal is cleared.
    case clearWarning
    /// The `incremental_snapshot` status detail (nil: none).
    case detail(String?)
  }

  /// What a message did: the rows it released, or the types to look up before it can.
  enum Outcome: Equatable {
    case records([ChangeRecord])
    /// The catalog must describe these types before the released rows are rendered; the
    /// message is held until ``found(userTypes:changes:)``.
    case needsUserTypes([UInt32])
  }

  private(set) var machine: IncrementalSnapshot
  /// What the task is to do, in order; taken with ``takeEffects()``.
  private(set) var effects: [Effect] = []
  /// Renders the chunks' rows; tables are defined from each high watermark's columns.
  private var encoder: ChangeStream
  private let signalTable: QualifiedName?
  /// Whether the signal table's own changes are written to a topic (it is in `tables:`).
  private let capturesSignalTable: Bool
  private var signalRelation: UInt32?

  /// A high watermark's actions held while the catalog is asked about their rows' types.
  private var held:
    (actions: [IncrementalSnapshot.Action], transaction: ChangeStream.Transaction, lsn: LSN)?

  init(
    state: IncrementalSnapshot.State, config: CDCConfig, settings: ChangeStream.Settings,
    floor: UInt64 = 0
  ) {
    machine = IncrementalSnapshot(
      state: state, chunkSize: config.incremental.chunkSize, floor: floor)
    encoder = ChangeStream(settings: settings, confirmed: .zero)
    signalTable = config.incremental.signalTable
    capturesSignalTable = config.uncapturedSignalTable == nil
  }

  /// Streaming starts: asks for the next chunk of a snapshot under way.
  mutating func start() {
    perform(machine.start())
    if let running = machine.state.running {
      effects.append(.detail(Self.describe(running)))
    }
  }

  /// The effects since the last call, in order.
  mutating func takeEffects() -> [Effect] {
    defer { effects = [] }
    return effects
  }

  /// The LSN the slot may be confirmed up to at most while a chunk's window is open.
  func confirmable(_ lsn: LSN) -> LSN {
    guard let hold = machine.hold else { return lsn }
    return min(hold, lsn)
  }

  // MARK: - Stream

  /// An Insert, Update or Delete, before it is applied: a signal when it is an insert into
  /// the signal table, a changed key when the table is in a chunk's window. Returns whether
  /// the change's records are to be dropped (the signal table, when it is not captured).
  mutating func observeRowChange(
    _ payload: ArraySlice<UInt8>, at lsn: LSN, changes: ChangeStream
  )
    throws(ProtocolError) -> Bool
  {
    guard payload.count >= 5 else { return false }
    let start = payload.startIndex
    var oid: UInt32 = 0
    for i in 1...4 { oid = oid << 8 | UInt32(payload[start + i]) }
    if oid == signalRelation {
      try observeSignal(payload, oid: oid, at: lsn, changes: changes)
      return !capturesSignalTable
    }
    if oid == machine.watchedRelation { try observeWatched(payload, oid: oid, changes: changes) }
    return false
  }

  // The two kinds of change are decoded in functions of their own, never inlined, so that the
  // check every change goes through stays three comparisons. (Inlined, they also crashed Swift
  // 6.3.1's release optimiser: CopyPropagation, "Found outside of lifetime use".)

  /// An insert into the signal table: the signal it carries, applied.
  @inline(never)
  private mutating func observeSignal(
    _ payload: ArraySlice<UInt8>, oid: UInt32, at lsn: LSN, changes: ChangeStream
  ) throws(ProtocolError) {
    guard payload[payload.startIndex] == UInt8(ascii: "I"), let transaction = changes.transaction,
      let table = changes.tables[oid],
      case .insert(_, let row) = try RowChange.decode(payload)
    else { return }
    let names = table.relation.columns.map(\.name)
    func text(_ column: String) -> String? {
      guard let i = names.firstIndex(of: column), i < row.count,
        case .text(let range) = row.columns[i]
      else { return nil }
      return String(decoding: row.bytes[range], as: UTF8.self)
    }
    let type = text("type") ?? ""
    if SnapshotSignal.concerns(type: type) {
      let data = text("data").flatMap { JSONValue.parse(Array($0.utf8)) } ?? .null
      apply(
        Result { () throws(SignalError) in
          try SnapshotSignal.parse(id: text("id") ?? "", type: type, data: data)
        }, transaction: transaction, at: lsn)
    }
  }

  /// A change of the table whose chunk window is open: the keys it touched.
  @inline(never)
  private mutating func observeWatched(
    _ payload: ArraySlice<UInt8>, oid: UInt32, changes: ChangeStream
  ) throws(ProtocolError) {
    guard let table = changes.tables[oid], let keyColumns = machine.window?.keyColumns else {
      return
    }
    let names = table.relation.columns.map(\.name)
    let indexes = keyColumns.compactMap { names.firstIndex(of: $0) }
    var keys: [IncrementalSnapshotWindow.Key?] = []
    if indexes.count != keyColumns.count {
      keys = [nil]
    } else {
      switch try RowChange.decode(payload) {
      case .insert(_, let new):
        keys = [IncrementalSnapshotWindow.key(of: new, at: indexes)]
      case .update(_, let old, let new):
        keys = [IncrementalSnapshotWindow.key(of: new, at: indexes)]
        if let old { keys.append(IncrementalSnapshotWindow.key(of: old.row, at: indexes)) }
      case .delete(_, let old):
        keys = [IncrementalSnapshotWindow.key(of: old.row, at: indexes)]
      }
    }
    machine.changed(relation: oid, keys: keys)
  }

  /// Any other message, after ``ChangeStream`` applied it: the chunk rows it releases, or the
  /// types to look up first.
  mutating func receive(_ message: PgOutputMessage, at lsn: LSN, changes: ChangeStream)
    throws(ProtocolError) -> Outcome
  {
    switch message {
    case .relation(let relation):
      if relation.qualifiedName == signalTable { signalRelation = relation.oid }
      return .records([])
    case .truncate(let truncate):
      machine.truncated(relations: truncate.relations)
      return .records([])
    case .message(let message) where message.transactional:
      let (prefix, content) = (message.prefix, message.content)
      guard let transaction = changes.transaction else { return .records([]) }
      if prefix == WatermarkMessage.signalPrefix {
        apply(
          Result { () throws(SignalError) in try SnapshotSignal.parse(document: content) },
          transaction: transaction, at: lsn)
        return .records([])
      }
      guard prefix == WatermarkMessage.prefix else { return .records([]) }
      let header: WatermarkMessage
      let rows: [[PgOutputMessage.TupleValue]]
      do {
        (header, rows) = try WatermarkMessage.decode(content)
      } catch {
        // Someone else's message under Sluice's prefix: never a reason to stop streaming.
        effects.append(
          .logWarning("ignored a malformed incremental snapshot watermark", error: "\(error)"))
        return .records([])
      }
      let actions: [IncrementalSnapshot.Action]
      switch header.kind {
      case .open:
        machine.lowWatermark(header, confirmable: changes.confirmableLSN)
        return .records([])
      case .close:
        actions = machine.highWatermark(
          header, rows: rows, commitLSN: transaction.commitLSN, at: lsn)
      case .skip:
        actions = machine.skipped(header, commitLSN: transaction.commitLSN, at: lsn)
      case .expand:
        actions = machine.expanded(header, commitLSN: transaction.commitLSN, at: lsn)
      }
      encoder.userTypes.merge(changes.userTypes) { $1 }
      var unknown: [UInt32] = []
      for case .emit(let kept, let header) in actions {
        guard let relation = Self.relation(of: kept, header) else { continue }
        if encoder.tables[relation.oid]?.relation != relation {
          unknown += encoder.unknownTypes(of: relation).filter { !unknown.contains($0) }
        }
      }
      guard unknown.isEmpty else {
        held = (actions, transaction, lsn)
        return .needsUserTypes(unknown)
      }
      return .records(try release(actions, transaction: transaction, at: lsn))
    default:
      return .records([])
    }
  }

  /// The catalog's answer to ``Outcome/needsUserTypes(_:)``: renders the held rows.
  mutating func found(userTypes: [UInt32: UserType], changes: ChangeStream)
    throws(ProtocolError) -> [ChangeRecord]
  {
    guard let (actions, transaction, lsn) = held else { return [] }
    held = nil
    encoder.userTypes.merge(changes.userTypes) { $1 }
    encoder.userTypes.merge(userTypes) { $1 }
    return try release(actions, transaction: transaction, at: lsn)
  }

  /// Renders the rows of a watermark's actions and queues the rest of them.
  private mutating func release(
    _ actions: [IncrementalSnapshot.Action], transaction: ChangeStream.Transaction, at lsn: LSN
  ) throws(ProtocolError) -> [ChangeRecord] {
    var records: [ChangeRecord] = []
    for case .emit(let kept, let header) in actions {
      records += try render(kept, of: header, transaction: transaction, at: lsn)
    }
    perform(actions)
    return records
  }

  // MARK: - Durability

  /// Whether the state changed since it last rode on a position: the records (or a commit)
  /// that carry it must be durable before the slot is confirmed past this point.
  var hasUnsavedState: Bool { machine.unsaved }

  /// The blocking snapshot a signal asked for, until the task takes it.
  var blocking: IncrementalSnapshot.Blocking? { machine.state.blocking }

  /// The task has taken the blocking snapshot (begun or left out).
  mutating func blockingTaken() { machine.blockingTaken() }

  /// The blocking snapshot asked for is not taken: the user sees why.
  mutating func refuseBlocking(_ reason: String) {
    guard let blocking = machine.state.blocking else { return }
    machine.blockingTaken()
    effects.append(.warn("execute-snapshot \(blocking.id) (blocking) was ignored: \(reason)"))
  }

  /// Whether positions carry the state at all (once a snapshot signal was applied).
  var carriesState: Bool { machine.state != IncrementalSnapshot.State() }

  /// The state as a suffix for the last position of a send.
  mutating func stamp() -> String { machine.stamp() }

  /// A position to commit the state with when no record carries it: just before the
  /// transaction that last changed it, so everything it covers is durable already.
  func commitPosition(generation: UInt32) -> ChangePosition {
    ChangePosition(
      commitLSN: LSN(max(machine.state.through, 1) - 1), index: .max, generation: generation)
  }

  // MARK: - Internals

  private mutating func apply(
    _ parsed: Result<SnapshotSignal, SignalError>, transaction: ChangeStream.Transaction,
    at lsn: LSN
  ) {
    switch parsed {
    case .success(let signal):
      // A new execute-snapshot replaces the last one's warning; one the slot streams again
      // (after streaming restarted, a blocking snapshot's among them) keeps it.
      if case .execute = signal, machine.isNew(transaction.commitLSN, lsn) {
        effects.append(.clearWarning)
      }
      perform(machine.signal(signal, commitLSN: transaction.commitLSN, at: lsn))
    case .failure(let error):
      perform(machine.refused(error, commitLSN: transaction.commitLSN, at: lsn))
    }
  }

  private mutating func perform(_ actions: [IncrementalSnapshot.Action]) {
    for action in actions {
      switch action {
      case .read(let request): effects.append(.read(request))
      case .warn(let message): effects.append(.warn(message))
      case .log(let message): effects.append(.log(message))
      case .emit: break
      }
    }
    effects.append(
      .detail(machine.state.running.map(Self.describe) ?? (carriesState ? "idle" : nil)))
  }

  static let warningSource = "incremental_snapshot"

  private static func describe(_ running: IncrementalSnapshot.Running) -> String {
    let table = running.tables.first.map { "\($0.description) chunk \(running.chunk)" } ?? "-"
    return
      "\(running.paused ? "paused" : "running") \(running.id): \(table), \(running.tables.count) tables left, \(running.rows) rows"
  }

  /// The table of a chunk's rows, as a Relation message would describe it; nil when there
  /// are no rows to render.
  private static func relation(
    of rows: [[PgOutputMessage.TupleValue]], _ header: WatermarkMessage
  ) -> PgOutputMessage.Relation? {
    guard !rows.isEmpty, let columns = header.columns else { return nil }
    return PgOutputMessage.Relation(
      oid: header.relation, schema: header.table.schema, name: header.table.table,
      replicaIdentity: header.identity?.utf8.first ?? UInt8(ascii: "d"),
      columns: columns.map {
        PgOutputMessage.Column(
          name: $0.name, typeOID: $0.type, typeModifier: $0.modifier,
          isKey: (header.primaryKey ?? header.key).contains($0.name))
      })
  }

  /// The rows of a chunk as `op: "r"` events at the high watermark's positions (their types
  /// known: ``receive(_:at:changes:)`` asked for those that were not).
  private mutating func render(
    _ rows: [[PgOutputMessage.TupleValue]], of header: WatermarkMessage,
    transaction: ChangeStream.Transaction, at lsn: LSN
  ) throws(ProtocolError) -> [ChangeRecord] {
    guard let relation = Self.relation(of: rows, header) else { return [] }
    if encoder.tables[relation.oid]?.relation != relation {
      encoder.primaryKeys[relation.oid] = header.primaryKey ?? header.key
      _ = try encoder.receive(.relation(relation), at: lsn)
    }
    var records: [ChangeRecord] = []
    records.reserveCapacity(rows.count)
    for (i, row) in rows.enumerated() {
      let position = ChangePosition(
        commitLSN: transaction.commitLSN, index: UInt32(i),
        generation: encoder.settings.generation)
      if let record = try encoder.incrementalRead(
        relation.oid, row, position: position, xid: UInt64(transaction.xid),
        microseconds: transaction.commitMicroseconds, lsn: lsn)
      {
        records.append(record)
      }
    }
    return records
  }
}

extension ChangeStream {
  /// A row an incremental snapshot read from table `oid`, as Debezium's `op: "r"` event with
  /// `source.snapshot` "incremental", at `position`.
  func incrementalRead(
    _ oid: UInt32, _ values: [PgOutputMessage.TupleValue], position: ChangePosition, xid: UInt64,
    microseconds: Int64, lsn: LSN
  ) throws(ProtocolError) -> ChangeRecord? {
    guard let table = tables[oid] else {
      throw ProtocolError("an incremental snapshot row of relation \(oid) before its columns")
    }
    let row = Row(values)
    guard row.count == table.relation.columns.count else {
      throw ProtocolError(
        "an incremental snapshot row has \(row.count) values for \(table.relation.columns.count) columns"
      )
    }
    let event = Event(
      op: "r", before: .none, after: .row(row, substitute: nil), microseconds: microseconds,
      snapshot: "incremental", lastCommitLSN: nil, xid: xid, lsn: lsn)
    let key = key(of: row, table)
    guard let (topic, value, headers) = try render(event, of: table, key: key) else { return nil }
    // A keyless row (a table read by its surrogate key) goes to partition 0: the runtime
    // would spread keyless records round-robin, so a replay could put one in a partition
    // whose last position is behind it and write it twice.
    return ChangeRecord(
      topic: topic, key: key, value: value, position: position, relation: oid, headers: headers,
      partition: key == nil ? 0 : nil)
  }
}

extension IncrementalSnapshotStream {
  /// Puts the state on the last of a send's `records` (after the initial snapshot's
  /// progress, when there is one). Returns the position to commit on its own when the state
  /// changed and no record carries it, whether the send must be flushed before the slot is
  /// confirmed, and the state that is durable once that is done.
  mutating func carry(
    on records: inout [SourceRecord], snapshot: SnapshotProgress?, generation: UInt32
  ) -> (commit: SourcePosition?, mustSave: Bool, stamped: IncrementalSnapshot.State?) {
    guard carriesState else { return (nil, false, nil) }
    let mustSave = hasUnsavedState
    if let last = records.last?.position {
      records[records.count - 1].position = IncrementalSnapshot.appending(stamp(), to: last)
      return (nil, mustSave, machine.state)
    }
    guard mustSave else { return (nil, false, nil) }
    let position = CDCPosition.change(commitPosition(generation: generation), snapshot)
    return (
      IncrementalSnapshot.appending(stamp(), to: position.sourcePosition), false, machine.state
    )
  }
}
