import Foundation
import SluiceCore
import SluicePostgres

/// Streams a PostgreSQL database's changes into topics as Debezium events, exactly once.
///
/// Start-up checks the database and creates the publication and slot (``SlotSetup``); then
/// the replication thread (``ReplicationStream``) reads pgoutput messages, ``ChangeStream``
/// turns them into records, `send` makes them durable, and only then is the LSN they end at
/// reported to PostgreSQL. After a crash the slot replays from its confirmed LSN and the
/// runtime drops the records that were already durable (their positions are not past the
/// last one in their partition). A lost connection is retried with capped backoff.
///
/// Every decision of that loop (what to look up in the catalog, which records to keep, what
/// to send, commit and confirm, whether to reconnect) is ``ReplicationSession``'s, a value
/// with no I/O; this class runs what it asks for: libpq calls, sends, commits, logs, sleeps.
///
/// With `snapshot: initial` a connector without a position first reads the tables
/// (``InitialSnapshot``); streaming then replays the slot from where the snapshot began and
/// ``SnapshotReplayFilter`` drops what the snapshot already holds.
final class CDCSourceTask: SourceTask {
  let config: CDCConfig
  /// The chain's `unwrap`, done as events are rendered (``FusedUnwrap``).
  let unwrap: FusedUnwrap?
  let context: any SourceTaskContext

  init(config: CDCConfig, unwrap: FusedUnwrap? = nil, context: any SourceTaskContext) {
    self.config = config
    self.unwrap = unwrap
    self.context = context
  }

  func run() async throws {
    let metrics = CDCMetrics(connector: config.name, slot: config.slot)
    let monitor = SlotMonitor(config: config, context: context, metrics: metrics)
    defer {
      monitor.clear()
      metrics.release()
    }
    // `initial_only` keeps no slot to watch.
    guard config.snapshot != .initialOnly else {
      try await replicate(metrics: metrics)
      return
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await monitor.run() }
      group.addTask { try await self.replicate(metrics: metrics) }
      // The first to end ends both: replication when the task stops or fails, the monitor
      // when the slot is lost (a paused task, waiting to send, would not notice otherwise).
      try await group.next()
      group.cancelAll()
    }
  }

  /// Sets up, snapshots if asked, and streams, reconnecting after blips, until cancelled.
  /// The decisions are the ``ReplicationSession``'s; this runs what it asks for.
  private func replicate(metrics: CDCMetrics) async throws {
    let control = ControlConnection(config: config)
    context.setDetail("slot", config.slot)
    context.setDetail("publication", config.publication)
    var session = ReplicationSession(committed: context.committedPosition)
    var progress: SnapshotProgress?
    while !Task.isCancelled {
      do {
        context.setDetail("state", "starting")
        let setup = try await control.run { try SlotSetup(config: self.config).prepare(on: $0) }
        if !session.snapshotDone {
          progress = try await snapshotIfNeeded(setup: setup, metrics: metrics)
          session.snapshotFinished()
        }
        if let blocking = session.pendingBlocking {
          session.blockingBegins()
          if let read = try await blockingSnapshot(
            blocking, setup: setup, control: control, metrics: metrics)
          {
            progress = read
          }
          session.blockingTaken()
        }
        if config.snapshot == .initialOnly {
          context.setDetail("state", "snapshot complete; not streaming (snapshot: initial_only)")
          await control.close()
          while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
          return
        }
        try await stream(
          from: setup, control: control, snapshot: progress, session: &session, metrics: metrics)
        if Task.isCancelled { break }
        // Stopped for a blocking snapshot: read it, then stream again.
        if session.pendingBlocking != nil { continue }
        // The server ended the stream without an error: start again.
        throw PostgresError(sqlState: nil, message: "replication stream ended")
      } catch {
        if Task.isCancelled { break }
        switch session.failed(error, at: .now) {
        case .fail:
          context.setDetail("state", "failed: \(error)")
          await control.close()
          throw (error as? SendFailure)?.underlying ?? error
        case .retry(let delay, let warn):
          if warn {
            context.logger.warning(
              "replication interrupted; reconnecting with backoff",
              metadata: ["slot": "\(config.slot)", "error": "\(error)"])
          }
          context.setDetail("state", "reconnecting: \(error)")
          try? await Task.sleep(for: delay)
        }
      }
    }
    await control.close()
  }

  /// Reads the tables first when ``ReplicationSession/snapshotPlan(committed:mode:confirmed:)``
  /// says so. Returns the snapshot's progress (nil when no snapshot was ever taken), which
  /// streaming needs to drop what the snapshot holds.
  private func snapshotIfNeeded(setup: SlotState, metrics: CDCMetrics) async throws
    -> SnapshotProgress?
  {
    let plan = ReplicationSession.snapshotPlan(
      committed: context.committedPosition, mode: config.snapshot, confirmed: setup.confirmed)
    guard case .snapshot(var progress, let point) = plan else {
      if case .stream(let progress) = plan { return progress }
      return nil
    }
    context.setDetail("state", "snapshotting")
    if let id = progress.blocking {
      context.setDetail("state", "blocking snapshot")
      context.setDetail("blocking_snapshot", "running \(id): resuming after a restart")
      context.logger.info(
        "resuming the interrupted blocking snapshot", metadata: ["id": "\(id)"])
    }
    let snapshot = InitialSnapshot(
      config: config, context: context, settings: settings(setup), metrics: metrics)
    try await snapshot.run(progress: &progress, committed: point)
    if let id = progress.blocking {
      context.setDetail("blocking_snapshot", "completed \(id): \(describe(progress.tables))")
      context.logger.info(
        "blocking snapshot completed: streaming resumes", metadata: ["id": "\(id)"])
    }
    return progress
  }

  /// A blocking snapshot (Debezium's `execute-snapshot` with `type: blocking`): with
  /// streaming stopped after its signal's transaction, the tables its `data-collections`
  /// select are read as the initial snapshot reads them — their rows `op: "r"` events with
  /// `source.snapshot` `first` … `last` — under a snapshot taken now, at positions just after
  /// the signal's transaction; then streaming goes on from there. Returns its progress, nil
  /// when no captured table was selected (a warning says so).
  ///
  /// A crash while it reads leaves snapshot positions committed, so the restarted task
  /// resumes it as it resumes an initial snapshot (``snapshotIfNeeded(setup:metrics:)``):
  /// rows already durable are not read again.
  private func blockingSnapshot(
    _ blocking: IncrementalSnapshot.Blocking, setup: SlotState, control: ControlConnection,
    metrics: CDCMetrics
  ) async throws -> SnapshotProgress? {
    let publication = config.publication
    let uncaptured = config.uncapturedSignalTable
    let captured = try await control.run {
      try ControlConnection.capturedTables(publication: publication, except: uncaptured, on: $0)
    }
    var tables: [QualifiedName] = []
    var unmatched: [String] = []
    for entry in blocking.tables {
      let selected =
        entry.pattern.map { TableSelector(expression: $0).select(from: captured) }
        ?? captured.filter { $0 == entry.name }
      if selected.isEmpty { unmatched.append(entry.description) }
      for table in selected where !tables.contains(table) { tables.append(table) }
    }
    if !unmatched.isEmpty {
      let message =
        "blocking snapshot \(blocking.id): \(unmatched.joined(separator: ", ")) \(unmatched.count == 1 ? "selects" : "select") no captured table (not in publication \(publication))"
      warn(message)
    }
    guard !tables.isEmpty else {
      context.logger.info(
        "blocking snapshot left out: no table to read", metadata: ["id": "\(blocking.id)"])
      return nil
    }
    context.setDetail("state", "blocking snapshot")
    context.setDetail("blocking_snapshot", "running \(blocking.id): \(describe(tables))")
    context.logger.info(
      "blocking snapshot started: streaming stopped",
      metadata: [
        "id": "\(blocking.id)", "after": "\(LSN(blocking.commitLSN))",
        "tables": "\(describe(tables))",
      ])
    var progress = SnapshotProgress(base: blocking.commitLSN + 1, tables: tables)
    progress.blocking = blocking.id
    let snapshot = InitialSnapshot(
      config: config, context: context, settings: settings(setup), metrics: metrics)
    try await snapshot.run(progress: &progress, committed: nil)
    context.setDetail("blocking_snapshot", "completed \(blocking.id): \(describe(tables))")
    context.logger.info(
      "blocking snapshot completed: streaming resumes", metadata: ["id": "\(blocking.id)"])
    return progress
  }

  private func describe(_ tables: [QualifiedName]) -> String {
    tables.map(\.description).joined(separator: ", ")
  }

  /// A warning in the log and in the task's status, beside the incremental snapshot's.
  private func warn(_ message: String) {
    let source = IncrementalSnapshotStream.warningSource
    context.logger.warning("\(message)")
    context.setWarning(source, TaskWarning(source: source, severity: .warning, message: message))
  }

  private func settings(_ setup: SlotState) -> ChangeStream.Settings {
    .init(
      connectorName: config.name, database: setup.database, topic: config.topic,
      tombstonesOnDelete: config.tombstonesOnDelete, unwrap: unwrap,
      generation: context.committedPosition.flatMap(CDCPosition.init)?.generation ?? 0,
      conversion: config.conversion, transactionMetadata: config.transactionMetadata)
  }

  /// Streams until cancelled or the connection fails, running what `session` asks for.
  private func stream(
    from setup: SlotState, control: ControlConnection, snapshot: SnapshotProgress?,
    session: inout ReplicationSession, metrics: CDCMetrics
  ) async throws {
    let replication = ReplicationStream(
      parameters: .init(
        url: config.url, password: config.password,
        applicationName: "sluice \(config.name) replication", slot: config.slot,
        publication: config.publication, withMessages: setup.serverVersion >= 140000),
      confirmed: setup.confirmed)
    // After an initial snapshot, changes go through its replay filter (not after a blocking
    // one: changes after its signal follow its rows, as Debezium's do).
    // (A closure here, `snapshot.map { … }`, crashes Swift 6.3.1's ClosureLifetimeFixup.)
    let filter: SnapshotReplayFilter? =
      if let snapshot, snapshot.blocking == nil {
        SnapshotReplayFilter(
          progress: snapshot, control: control,
          partitionCount: { [store = context.store] topic in
            try await store.partitionCount(of: topic) ?? store.defaultPartitions
          },
          conversion: config.conversion)
      } else { nil }
    // Incremental snapshots on signal go on from the last state made durable.
    let reader = ChunkReader(config: config, context: context)
    let heartbeat = config.heartbeatTopic.map {
      DebeziumHeartbeat(
        topic: $0, serverName: config.serverName, schemas: config.conversion.schemas,
        interval: config.heartbeatInterval)
    }
    session.startStreaming(
      .init(
        settings: settings(setup), confirmed: setup.confirmed,
        committed: context.committedPosition, snapshot: snapshot,
        replayWindowBytes: config.replayWindowBytes, heartbeat: heartbeat, config: config))
    replication.start()
    reader.start()
    perform(session.takeEffects(), reader: reader)
    let monitor = Task {
      await self.monitor(replication: replication, control: control, metrics: metrics)
    }
    defer {
      monitor.cancel()
      replication.stop()
      reader.stop()
    }
    context.setDetail("state", "streaming")
    let context = self.context
    try await withTaskCancellationHandler {
      // One chunk's records are made durable while the next chunk is decoded: at most one
      // send is in flight, so sends stay in stream order, and each chunk's LSN is confirmed
      // only when its send has returned, that is when its records are durable.
      try await withThrowingTaskGroup(of: (receipt: Emit.Receipt, skipped: Int).self) { sending in
        var inFlight = false
        /// Waits for the send in flight; then PostgreSQL may forget the WAL behind it.
        func finishSend() async throws {
          guard inFlight, let sent = try await sending.next() else { return }
          inFlight = false
          // After a crash the slot replays from its confirmed LSN; the runtime drops what was
          // already durable. Counted so the status and log show the replay happened.
          if sent.skipped > 0 {
            context.setDetail("skipped_already_durable", "\(session.skipped(sent.skipped))")
            context.logger.info(
              "skipped changes already durable in their topics (replayed by the slot)",
              metadata: ["count": "\(sent.skipped)"])
          }
          durable(sent.receipt)
        }
        /// Confirms what an emit made durable.
        func durable(_ receipt: Emit.Receipt) {
          let (confirm, resumed) = session.madeDurable(receipt)
          if let confirm { replication.confirm(confirm) }
          if resumed {
            context.logger.info("replication resumed", metadata: ["slot": "\(self.config.slot)"])
          }
        }
        chunks: for try await chunk in replication.chunks {
          replication.consumed()
          for message in chunk {
            var step = try session.receive(message)
            while case .lookUp(let lookup) = step {
              step = try session.found(try await self.lookUp(lookup, control: control))
            }
          }
          perform(session.takeEffects(), reader: reader)
          if let filter, let replayed = session.takeReplayed() {
            session.kept(
              try await afterSnapshot(replayed, filter: filter, stream: session.changes!))
          }
          var emit = session.endChunk(now: currentTimeMillis())
          // Transformed here, while the send before is being written, not in the send's own
          // turn: the chain overlaps that write instead of lengthening the next one.
          // A transform failure fails the task once the send before has finished. The records
          // are moved out of `emit` and on into the send, whose records they become.
          var records: [SourceRecord] = []
          swap(&records, &emit.records)
          var prepared: Result<PreparedSend, any Error>?
          if !records.isEmpty {
            do {
              prepared = .success(try context.prepare(consume records))
            } catch {
              prepared = .failure(error)
            }
          }
          try await finishSend()
          if emit.droppedWritten > 0 {
            context.setDetail(
              "skipped_already_durable", "\(session.skipped(emit.droppedWritten))")
            context.logger.info(
              "skipped changes already durable in their topics (at or before the committed position)",
              metadata: ["count": "\(emit.droppedWritten)"])
          }
          // Taken out of `prepared`, so the send task holds the only reference to its records.
          let handover: Handover<PreparedSend>
          switch prepared.take() {
          case nil:
            if let commit = emit.commit {
              do {
                try await context.commit(commit)
              } catch {
                throw SendFailure(underlying: error)
              }
            }
            metrics.durable(emit.tally)
            durable(emit.receipt)
            if session.isStoppedForBlocking { break chunks }
            continue chunks
          case .failure(let error)?:
            throw SendFailure(underlying: error)
          case .success(let send)?:
            handover = Handover(send)
          }
          sending.addTask { [commit = emit.commit, tally = emit.tally, receipt = emit.receipt] in
            let placed: [RecordMetadata]
            do {
              placed = try await context.send(handover.take())
              // A changed snapshot state is durable before the slot may forget its cause.
              if let commit { try await context.commit(commit) }
            } catch {
              throw SendFailure(underlying: error)
            }
            // Counted as soon as durable, not when the next chunk collects this send.
            metrics.durable(tally)
            return (receipt, placed.reduce(0) { $0 + ($1.wasReplayed ? 1 : 0) })
          }
          inFlight = true
          // A blocking snapshot's signal: this send is the stream's last.
          if session.isStoppedForBlocking { break }
        }
        try await finishSend()
      }
    } onCancel: {
      replication.stop()
    }
  }

  /// Asks the catalog what `lookup` names, in the order the stream has always asked.
  private func lookUp(_ lookup: CatalogLookup, control: ControlConnection) async throws
    -> CatalogAnswer
  {
    var answer = CatalogAnswer()
    if let oid = lookup.primaryKeyOf {
      answer.primaryKey = try await control.run {
        try ControlConnection.primaryKey(of: oid, on: $0)
      }
    }
    let types = lookup.userTypes
    if !types.isEmpty {
      answer.userTypes = try await control.run { try ControlConnection.userTypes(types, on: $0) }
    }
    if let oid = lookup.columnFactsOf {
      answer.columnFacts = try await control.run {
        try ControlConnection.columnFacts(of: oid, on: $0)
      }
    }
    return answer
  }

  /// Carries out the incremental snapshot's effects.
  private func perform(_ effects: [IncrementalSnapshotStream.Effect], reader: ChunkReader) {
    let source = IncrementalSnapshotStream.warningSource
    for effect in effects {
      switch effect {
      case .read(let request):
        reader.submit(request)
      case .warn(let message):
        warn(message)
      case .log(let message):
        context.logger.info("\(message)")
      case .logWarning(let message, let error):
        context.logger.warning("\(message)", metadata: ["error": "\(error)"])
      case .clearWarning:
        context.setWarning(source, nil)
      case .detail(let text):
        context.setDetail("incremental_snapshot", text)
      }
    }
  }

  /// The records of changes the snapshot does not hold.
  private func afterSnapshot(
    _ changes: [ChangeRecord], filter: SnapshotReplayFilter, stream: ChangeStream
  ) async throws -> [SourceRecord] {
    let before = filter.dropped
    let records = try await filter.keep(changes, stream: stream).map(\.sourceRecord)
    if filter.dropped > before {
      context.setDetail("snapshot_overlap_dropped", "\(filter.dropped)")
    }
    return records
  }

  /// Writes heartbeats (so an idle slot still advances) and shows the slot's confirmed LSN and
  /// lag in the status, until cancelled.
  private func monitor(
    replication: ReplicationStream, control: ControlConnection, metrics: CDCMetrics
  ) async {
    let slot = config.slot
    let interval = min(config.heartbeatInterval, .seconds(1))
    var sinceHeartbeat: Duration = .zero
    while !Task.isCancelled {
      try? await Task.sleep(for: interval)
      if Task.isCancelled { return }
      sinceHeartbeat += interval
      if sinceHeartbeat >= config.heartbeatInterval {
        sinceHeartbeat = .zero
        do {
          try await control.run { try ControlConnection.heartbeat(on: $0) }
          replication.requestReply()
          metrics.heartbeatWritten()
          context.setDetail("heartbeat", nil)
        } catch {
          context.setDetail("heartbeat", "failed: \(error)")
        }
      }
      if let slotState = try? await control.run({
        try ControlConnection.slotLag(slot: slot, on: $0)
      }) {
        context.setDetail("confirmed_lsn", slotState.0?.description)
        context.setDetail("lag_bytes", slotState.1.map { "\($0)" })
      }
    }
  }
}

/// An error of the runtime's `send` (the topic log or the offsets file, not PostgreSQL), told
/// apart from replication errors so that it fails the task instead of being retried as a
/// lost connection.
struct SendFailure: Error, CustomStringConvertible {
  var underlying: any Error
  var description: String { "\(underlying)" }
}
