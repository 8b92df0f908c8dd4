import SluiceCore
import SluicePostgres

/// The decisions of a CDC task's streaming, as a value (STYLE.md §1): replication messages,
/// catalog answers, chunk ends, durable sends and failures in; what to look up, what to send
/// and commit, what PostgreSQL may forget, and whether to reconnect out. It does no I/O:
/// ``CDCSourceTask`` runs the libpq calls, sends, commits, logs and sleeps it asks for, and
/// ``ReplicationStream``'s thread reports what it is told to confirm (``StandbyFeedback``).
///
/// One session lives as long as the task; each connection to the slot starts a stream in it
/// (``startStreaming(_:)``), which is dropped when the connection fails. What must outlive a
/// connection is here: the reconnect policy, whether the initial snapshot is behind, and the
/// incremental snapshot's state as last made durable (a new stream replays the slot from its
/// confirmed LSN, which never passed a change of that state that was not durable).
///
/// A stream's chunk goes: ``receive(_:)`` for each message — answering
/// ``Step/lookUp(_:)`` with ``found(_:)`` — then ``takeReplayed()`` and ``kept(_:)`` through
/// the initial snapshot's replay filter when there is one, then ``endChunk(now:)``, whose
/// ``Emit`` the task makes durable before it calls ``madeDurable(_:)``.
struct ReplicationSession {
  /// What a stream needs to start.
  struct StreamStart {
    var settings: ChangeStream.Settings
    /// The slot's `confirmed_flush_lsn`.
    var confirmed: LSN
    /// The task's committed position when the stream starts.
    var committed: SourcePosition?
    /// The initial snapshot's progress, nil when none was ever taken: changes go through its
    /// replay filter and the last record of each send carries it. A blocking snapshot's
    /// progress instead says only where streaming goes on: after its signal's transaction.
    var snapshot: SnapshotProgress?
    /// `replay_window` in bytes.
    var replayWindowBytes: UInt64 = 0
    /// Debezium's heartbeat records, when a heartbeat topic is set.
    var heartbeat: DebeziumHeartbeat? = nil
    var config: CDCConfig
  }

  private var reconnect = ReconnectPolicy()
  /// Whether the initial snapshot is behind (or was not needed): a failure before that fails
  /// the task.
  private(set) var snapshotDone = false
  /// The incremental snapshot's state as last made durable.
  private(set) var incrementalDurable: IncrementalSnapshot.State
  /// The stream of the current connection.
  private var stream: Stream?

  /// A session for a task whose committed position is `committed`.
  init(committed: SourcePosition?) {
    incrementalDurable = IncrementalSnapshot.state(in: committed)
  }

  // MARK: - Snapshot

  /// What to do before streaming: the initial snapshot to take or resume, if any.
  enum SnapshotPlan: Equatable {
    /// Stream at once; `progress` is the finished snapshot's, nil when none was ever taken.
    case stream(progress: SnapshotProgress?)
    /// Take (or resume after `point`) the snapshot whose progress so far is `progress`.
    case snapshot(progress: SnapshotProgress, resumingAfter: SnapshotPoint?)
  }

  /// Reads the tables first when the config asks for a snapshot and the connector has no
  /// position yet, or resumes one a crash cut short. `confirmed` is the slot's
  /// `confirmed_flush_lsn`, where a new snapshot begins.
  static func snapshotPlan(committed: SourcePosition?, mode: CDCConfig.Snapshot, confirmed: LSN)
    -> SnapshotPlan
  {
    switch committed.flatMap(CDCPosition.init) {
    case .change(_, let known)?:
      return .stream(progress: known)
    case .snapshot(let at, let known?)?:
      if known.done { return .stream(progress: known) }
      return .snapshot(progress: known, resumingAfter: at)
    case .reset?:
      // Offsets reset after a replay: a new connector in the replay's generation.
      guard mode != .never else { return .stream(progress: nil) }
      return .snapshot(
        progress: SnapshotProgress(base: confirmed.value, tables: []), resumingAfter: nil)
    case .snapshot(_, nil)?, nil:
      guard committed == nil, mode != .never else { return .stream(progress: nil) }
      return .snapshot(
        progress: SnapshotProgress(base: confirmed.value, tables: []), resumingAfter: nil)
    }
  }

  /// The snapshot is behind (or none was needed): later failures are connection blips.
  mutating func snapshotFinished() { snapshotDone = true }

  // MARK: - Blocking snapshots

  /// A blocking snapshot whose signal is durable and that has not begun: the task reads its
  /// tables before it streams again.
  var pendingBlocking: IncrementalSnapshot.Blocking? { incrementalDurable.blocking }

  /// The current stream stopped after a blocking snapshot's signal: the task ends it once its
  /// last send is durable.
  var isStoppedForBlocking: Bool { stream?.stoppedForBlocking ?? false }

  /// A blocking snapshot begins: until it ends, a failure fails the task, which resumes it
  /// from what its records made durable (as the initial snapshot does).
  mutating func blockingBegins() { snapshotDone = false }

  /// The blocking snapshot ended (read, or left out): streaming goes on.
  mutating func blockingTaken() {
    incrementalDurable.blocking = nil
    snapshotDone = true
  }

  // MARK: - Reconnecting

  /// What streaming stopped with, as the reconnect policy tells failures apart.
  static func failure(of error: any Error, snapshotDone: Bool) -> ReconnectPolicy.Failure {
    if error is SendFailure { return .send }
    if error is SetupError || !snapshotDone { return .setupOrSnapshot }
    return .connection(slotBusy: (error as? PostgresError)?.sqlState == "55006")
  }

  /// Streaming stopped with `error` at `now`: reconnect after a delay, or fail the task. The
  /// stream is dropped either way.
  mutating func failed(_ error: any Error, at now: ContinuousClock.Instant)
    -> ReconnectPolicy.Decision
  {
    stream = nil
    return reconnect.decide(Self.failure(of: error, snapshotDone: snapshotDone), at: now)
  }

  // MARK: - A stream

  /// A connection streams from the slot.
  mutating func startStreaming(_ start: StreamStart) {
    stream = Stream(start, incremental: incrementalDurable)
  }

  /// What to do after a message.
  enum Step: Equatable {
    /// Go on with the next message.
    case next
    /// Ask the catalog, then hand the answer to ``found(_:)`` before the next message.
    case lookUp(CatalogLookup)
  }

  /// A message of the stream: a keepalive, or a pgoutput message in XLogData.
  mutating func receive(_ message: ReplicationMessage) throws(ProtocolError) -> Step {
    try stream!.receive(message)
  }

  /// The catalog's answer to the last ``Step/lookUp(_:)``: the held message is applied.
  mutating func found(_ answer: CatalogAnswer) throws(ProtocolError) -> Step {
    try stream!.found(answer)
  }

  /// What the incremental snapshot asks the task to do (chunk reads, log lines, status).
  mutating func takeEffects() -> [IncrementalSnapshotStream.Effect] {
    stream?.incremental.takeEffects() ?? []
  }

  /// The chunk's changes to go through the initial snapshot's replay filter, nil when there
  /// is none (the changes are in the chunk's records already).
  mutating func takeReplayed() -> [ChangeRecord]? {
    stream!.takeReplayed()
  }

  /// The records the replay filter kept of ``takeReplayed()``'s: the last one carries the
  /// snapshot's progress, so that a restart still knows what the snapshot holds.
  mutating func kept(_ records: [SourceRecord]) {
    stream!.kept(records)
  }

  /// The chunk ends: what to make durable, and what to confirm once it is.
  mutating func endChunk(now milliseconds: Int64) -> Emit {
    stream!.endChunk(now: milliseconds)
  }

  /// An ``Emit`` is durable (its records sent, its commit done): the incremental state it
  /// carried is the durable one, and the LSN PostgreSQL may now be told is returned (nil:
  /// none new). `resumed` tells that an outage just ended (to log it).
  mutating func madeDurable(_ emit: Emit.Receipt) -> (confirm: LSN?, resumed: Bool) {
    if let state = emit.state { incrementalDurable = state }
    let confirm = stream?.window.durable(emit.confirmAfter)
    return (confirm, reconnect.streamed())
  }

  /// `count` changes were skipped as already durable; returns how many this stream skipped.
  mutating func skipped(_ count: Int) -> Int {
    stream!.skippedTotal += count
    return stream!.skippedTotal
  }

  /// The stream's change state machine, for the replay filter: its tables, and what renders a
  /// record again (``TransactionRenumbering``).
  var changes: ChangeStream? { stream?.changes }
}

// MARK: - One connection's stream

extension ReplicationSession {
  /// The state of one connection's stream.
  struct Stream {
    var changes: ChangeStream
    var incremental: IncrementalSnapshotStream
    /// With a `replay_window`, PostgreSQL is told an LSN that far behind the durable one.
    var window: ReplayWindow
    /// Debezium's heartbeat records, after a chunk once the interval has passed (the WAL
    /// heartbeat makes a chunk arrive at least that often).
    var heartbeat: DebeziumHeartbeat?
    /// The committed change position: the slot may stream changes up to it again (a restart,
    /// a `replay_window`, a replay that moved the offsets back), and those are in the topics
    /// already. After a replay it is the replay's LSN in a new generation, which the
    /// runtime's check against each partition's last position would let through.
    let alreadyWritten: ChangePosition?
    /// The initial snapshot's progress, for its replay filter (nil after a blocking snapshot,
    /// whose rows come before the changes after its signal, as Debezium's do).
    let snapshot: SnapshotProgress?
    /// `|<progress>`, the suffix of a send's last position after a snapshot.
    let progressSuffix: String
    /// Set at the commit of a blocking snapshot's signal: every message after it waits for
    /// the next stream, which starts once the tables are read.
    private(set) var stoppedForBlocking = false

    /// The chunk's records so far.
    var records: [SourceRecord] = []
    /// The chunk's changes waiting for the snapshot's replay filter.
    var replayed: [ChangeRecord] = []
    /// Changes at or before the committed position, dropped in this chunk.
    var droppedWritten = 0
    /// Changes skipped as already durable since the stream started, for the status.
    var skippedTotal = 0
    /// A message waiting for the catalog.
    var held: Held?

    /// What waits for a catalog answer.
    enum Held {
      case relation(PgOutputMessage.Relation, PgOutputMessage, at: LSN)
      case snapshotRows
    }

    init(_ start: StreamStart, incremental state: IncrementalSnapshot.State) {
      changes = ChangeStream(settings: start.settings, confirmed: start.confirmed)
      // A snapshot's records sort just before its base: every transaction that committed
      // before it is in the topics, or (initial snapshot) never streamed again. For a blocking
      // snapshot that is what says its signal's transaction is behind, since the positions it
      // commits carry no incremental state.
      let floor = start.snapshot.map { max($0.base, 1) - 1 } ?? 0
      incremental = IncrementalSnapshotStream(
        state: state, config: start.config, settings: start.settings, floor: floor)
      window = ReplayWindow(bytes: start.replayWindowBytes, confirmed: start.confirmed)
      heartbeat = start.heartbeat
      var written: ChangePosition?
      if case .change(let position, _)? = start.committed.flatMap(CDCPosition.init) {
        written = position
      }
      if floor > 0 {
        let before = ChangePosition(
          commitLSN: LSN(floor), index: .max, generation: start.settings.generation)
        written = max(written ?? before, before)
      }
      alreadyWritten = written
      snapshot = start.snapshot?.blocking == nil ? start.snapshot : nil
      if let open = snapshot?.open, start.settings.transactionMetadata != nil {
        changes.renumberBefore = LSN(open)
      }
      progressSuffix = snapshot.map { "|" + CDCPosition.encode($0) } ?? ""
      incremental.start()
    }

    mutating func receive(_ message: ReplicationMessage) throws(ProtocolError) -> Step {
      // After a blocking snapshot's signal, the slot streams the rest again once it is read.
      if stoppedForBlocking { return .next }
      switch message {
      case .keepalive(let walEnd, _, _):
        changes.keepalive(walEnd: walEnd)
        return .next
      case .xLogData(let walStart, _, _, let payload):
        // Inserts, updates and deletes, nearly all of the stream, are read in place.
        if let made = try changes.receiveRowChange(payload, at: walStart) {
          if try !incremental.observeRowChange(payload, at: walStart, changes: changes) {
            take(made)
          }
          return .next
        }
        let decoded = try PgOutputMessage.decode(payload)
        if case .relation(let relation) = decoded {
          // Its key (unless the replica identity names it), types created in the database,
          // and NOT NULL and defaults (in Debezium's schemas, and a NULL in a column with a
          // default is written as the default, as Kafka Connect's JSON converter does).
          held = .relation(relation, decoded, at: walStart)
          return .lookUp(
            CatalogLookup(
              primaryKeyOf: ChangeStream.needsCatalogKey(relation) ? relation.oid : nil,
              userTypes: changes.unknownTypes(of: relation), columnFactsOf: relation.oid))
        }
        return try apply(decoded, at: walStart)
      }
    }

    mutating func found(_ answer: CatalogAnswer) throws(ProtocolError) -> Step {
      switch held {
      case .relation(let relation, let decoded, let lsn)?:
        held = nil
        if ChangeStream.needsCatalogKey(relation), let key = answer.primaryKey {
          changes.primaryKeys[relation.oid] = key
        }
        changes.userTypes.merge(answer.userTypes) { $1 }
        if let facts = answer.columnFacts { changes.columnFacts[relation.oid] = facts }
        return try apply(decoded, at: lsn)
      case .snapshotRows?:
        held = nil
        take(try incremental.found(userTypes: answer.userTypes, changes: changes))
        return .next
      case nil:
        return .next
      }
    }

    /// A decoded message other than a row change, its catalog facts known.
    private mutating func apply(_ decoded: PgOutputMessage, at lsn: LSN) throws(ProtocolError)
      -> Step
    {
      take(try changes.receive(decoded, at: lsn))
      if case .commit(let commit) = decoded { stopIfBlocking(at: commit.commitLSN) }
      switch try incremental.receive(decoded, at: lsn, changes: changes) {
      case .records(let made):
        take(made)
        return .next
      case .needsUserTypes(let types):
        held = .snapshotRows
        return .lookUp(CatalogLookup(primaryKeyOf: nil, userTypes: types, columnFactsOf: nil))
      }
    }

    /// At the commit of a blocking snapshot's signal, the stream stops. Not when the signal
    /// is in the part of the slot the initial snapshot overlaps: those changes go through
    /// its replay filter, which a blocking snapshot's progress would replace.
    private mutating func stopIfBlocking(at commitLSN: LSN) {
      guard let blocking = incremental.blocking, blocking.commitLSN == commitLSN.value else {
        return
      }
      if let open = snapshot?.open, commitLSN.value < open {
        incremental.refuseBlocking(
          "it was sent while the initial snapshot was read (before \(LSN(open))); send it again")
        return
      }
      stoppedForBlocking = true
    }

    /// Keeps a message's records: not those already written (before a replay moved the
    /// connector back), and through the snapshot's replay filter while there is one.
    private mutating func take(_ made: [ChangeRecord]) {
      for record in made {
        if let alreadyWritten, record.position <= alreadyWritten {
          droppedWritten += 1
          // The replay filter still sees what it would drop of a transaction written in
          // part, so the rest of it is numbered as before.
          if snapshot != nil, record.renumbering != nil {
            var written = record
            written.written = true
            replayed.append(written)
          }
        } else if snapshot != nil {
          replayed.append(record)
        } else {
          records.append(record.sourceRecord)
        }
      }
    }

    mutating func takeReplayed() -> [ChangeRecord]? {
      guard snapshot != nil else { return nil }
      defer { replayed = [] }
      return replayed
    }

    mutating func kept(_ kept: [SourceRecord]) {
      var kept = kept
      if let last = kept.last?.position {
        kept[kept.count - 1].position = SourcePosition(last.text + progressSuffix)
      }
      records += kept
    }

    mutating func endChunk(now milliseconds: Int64) -> Emit {
      var records = self.records
      self.records = []
      self.records.reserveCapacity(records.count)
      // The incremental snapshot's state rides on the last record; a change of it without
      // a record is committed on its own, before the slot is confirmed past it.
      let (stateCommit, mustSave, stamped) = incremental.carry(
        on: &records, snapshot: snapshot, generation: changes.settings.generation)
      // Debezium's heartbeat record has no position: after the state is carried.
      if let record = heartbeat?.due(now: milliseconds) { records.append(record) }
      // The state to commit after the send: on the last change record, or on its own
      // when the only record is a heartbeat (which has no position).
      let commit =
        stateCommit ?? (mustSave ? records.last(where: { $0.position != nil })?.position : nil)
      defer { droppedWritten = 0 }
      return Emit(
        records: records,
        // Everything before this LSN is in `records` or in the sends before them (and the
        // slot keeps an open chunk window whole, for a replay to see it again).
        confirmAfter: incremental.confirmable(changes.confirmableLSN),
        commit: commit, state: stamped, tally: changes.takeTally(),
        droppedWritten: droppedWritten)
    }
  }
}
