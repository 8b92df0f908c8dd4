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
  private func replicate(metrics: CDCMetrics) async throws {
    let control = ControlConnection(config: config)
    context.setDetail("slot", config.slot)
    context.setDetail("publication", config.publication)
    var reconnect = ReconnectPolicy()
    var snapshotDone = false
    var progress: SnapshotProgress?
    let incremental = IncrementalSnapshotLedger(durable: context.committedPosition)
    while !Task.isCancelled {
      do {
        context.setDetail("state", "starting")
        let setup = try await control.run { try SlotSetup(config: self.config).prepare(on: $0) }
        if !snapshotDone {
          progress = try await snapshotIfNeeded(setup: setup, metrics: metrics)
          snapshotDone = true
        }
        if config.snapshot == .initialOnly {
          context.setDetail("state", "snapshot complete; not streaming (snapshot: initial_only)")
          await control.close()
          while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
          return
        }
        try await stream(
          from: setup, control: control, snapshot: progress, incremental: incremental,
          metrics: metrics
        ) {
          if reconnect.streamed() {
            self.context.logger.info(
              "replication resumed", metadata: ["slot": "\(self.config.slot)"])
          }
        }
        if Task.isCancelled { break }
        // The server ended the stream without an error: start again.
        throw PostgresError(sqlState: nil, message: "replication stream ended")
      } catch {
        if Task.isCancelled { break }
        let failure: ReconnectPolicy.Failure =
          if error is SendFailure {
            .send
          } else if error is SetupError || !snapshotDone {
            .setupOrSnapshot
          } else {
            .connection(slotBusy: (error as? PostgresError)?.sqlState == "55006")
          }
        switch reconnect.decide(failure, at: .now) {
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

  /// Reads the tables first when the config asks for a snapshot and the connector has no
  /// position yet, or resumes one a crash cut short. Returns the snapshot's progress (nil when
  /// no snapshot was ever taken), which streaming needs to drop what the snapshot holds.
  private func snapshotIfNeeded(setup: SlotState, metrics: CDCMetrics) async throws
    -> SnapshotProgress?
  {
    let committed = context.committedPosition
    var progress: SnapshotProgress
    var point: SnapshotPoint?
    switch committed.flatMap(CDCPosition.init) {
    case .change(_, let known)?:
      return known
    case .snapshot(let at, let known?)?:
      if known.done { return known }
      progress = known
      point = at
    case .reset?:
      // Offsets reset after a replay: a new connector in the replay's generation.
      guard config.snapshot != .never else { return nil }
      progress = SnapshotProgress(base: setup.confirmed.value, tables: [])
    case .snapshot(_, nil)?, nil:
      guard committed == nil, config.snapshot != .never else { return nil }
      progress = SnapshotProgress(base: setup.confirmed.value, tables: [])
    }
    context.setDetail("state", "snapshotting")
    let snapshot = InitialSnapshot(
      config: config, context: context, settings: settings(setup), metrics: metrics)
    try await snapshot.run(progress: &progress, committed: point)
    return progress
  }

  private func settings(_ setup: SlotState) -> ChangeStream.Settings {
    .init(
      connectorName: config.name, database: setup.database, topic: config.topic,
      tombstonesOnDelete: config.tombstonesOnDelete, unwrap: unwrap,
      generation: context.committedPosition.flatMap(CDCPosition.init)?.generation ?? 0,
      conversion: config.conversion, transactionMetadata: config.transactionMetadata)
  }

  /// The committed change position: the slot may stream changes up to it again (a restart,
  /// a `replay_window`, a replay that moved the offsets back), and those are in the topics
  /// already. After a replay it is the replay's LSN in a new generation, which the runtime's
  /// check against each partition's last position would let through.
  private var alreadyWritten: ChangePosition? {
    if case .change(let position, _)? = context.committedPosition.flatMap(CDCPosition.init) {
      return position
    }
    return nil
  }

  /// Streams until cancelled or the connection fails; `progressed` runs after each chunk.
  private func stream(
    from setup: SlotState, control: ControlConnection, snapshot: SnapshotProgress?,
    incremental ledger: IncrementalSnapshotLedger, metrics: CDCMetrics, progressed: () -> Void
  ) async throws {
    let replication = ReplicationStream(
      parameters: .init(
        url: config.url, password: config.password,
        applicationName: "sluice \(config.name) replication", slot: config.slot,
        publication: config.publication, withMessages: setup.serverVersion >= 140000),
      confirmed: setup.confirmed)
    var changes = ChangeStream(settings: settings(setup), confirmed: setup.confirmed)
    // After a snapshot, the last record of each send carries its progress, so that a restart
    // (which replays from the slot's confirmed LSN) still knows what the snapshot holds.
    // (A closure here, `snapshot.map { … }`, crashes Swift 6.3.1's ClosureLifetimeFixup.)
    let filter: SnapshotReplayFilter? =
      if let snapshot {
        SnapshotReplayFilter(
          progress: snapshot, control: control, store: context.store,
          conversion: config.conversion)
      } else { nil }
    let progressSuffix = snapshot.map { "|" + CDCPosition.encode($0) } ?? ""
    // Incremental snapshots on signal go on from the last state made durable.
    let reader = ChunkReader(config: config, context: context)
    var incremental = IncrementalSnapshotStream(
      state: ledger.durable, config: config, settings: settings(setup), reader: reader,
      context: context)
    replication.start()
    reader.start()
    incremental.start()
    let monitor = Task {
      await self.monitor(replication: replication, control: control, metrics: metrics)
    }
    defer {
      monitor.cancel()
      replication.stop()
      reader.stop()
    }
    context.setDetail("state", "streaming")
    var replayedDuplicates = 0
    let context = self.context
    // With a `replay_window`, PostgreSQL is told an LSN that far behind the durable one.
    var window = ReplayWindow(bytes: config.replayWindowBytes, confirmed: setup.confirmed)
    let alreadyWritten = self.alreadyWritten
    // Debezium's heartbeat records, after each chunk once the interval has passed (the WAL
    // heartbeat makes a chunk arrive at least that often).
    var heartbeat: DebeziumHeartbeat? = nil
    if let topic = config.heartbeatTopic {
      heartbeat = DebeziumHeartbeat(
        topic: topic, serverName: config.name, intervalMilliseconds: config.heartbeatMilliseconds)
    }
    /// Changes at or before the committed position, dropped here; counted with the runtime's.
    var droppedWritten = 0
    try await withTaskCancellationHandler {
      // One chunk's records are made durable while the next chunk is decoded: at most one
      // send is in flight, so sends stay in stream order, and each chunk's LSN is confirmed
      // only when its send has returned, that is when its records are durable.
      try await withThrowingTaskGroup(
        of: (confirmable: LSN, skipped: Int, incremental: IncrementalSnapshot.State?).self
      ) { sending in
        var inFlight = false
        /// Waits for the send in flight; then PostgreSQL may forget the WAL behind it.
        func finishSend() async throws {
          guard inFlight, let sent = try await sending.next() else { return }
          inFlight = false
          // After a crash the slot replays from its confirmed LSN; the runtime drops what was
          // already durable. Counted so the status and log show the replay happened.
          if sent.skipped > 0 {
            replayedDuplicates += sent.skipped
            context.setDetail("skipped_already_durable", "\(replayedDuplicates)")
            context.logger.info(
              "skipped changes already durable in their topics (replayed by the slot)",
              metadata: ["count": "\(sent.skipped)"])
          }
          if let state = sent.incremental { ledger.durable = state }
          if let lsn = window.durable(sent.confirmable) { replication.confirm(lsn) }
          progressed()
        }
        for try await chunk in replication.chunks {
          replication.consumed()
          var records: [SourceRecord] = []
          records.reserveCapacity(chunk.count)
          // After a snapshot, changes go through its replay filter first.
          var replayed: [ChangeRecord] = []
          /// Keeps a message's records: not those already written (before a replay moved the
          /// connector back), and through the snapshot's replay filter while there is one.
          func take(_ made: [ChangeRecord]) {
            for record in made {
              if let alreadyWritten, record.position <= alreadyWritten {
                droppedWritten += 1
              } else if filter != nil {
                replayed.append(record)
              } else {
                records.append(record.sourceRecord)
              }
            }
          }
          for message in chunk {
            switch message {
            case .keepalive(let walEnd, _, _):
              changes.keepalive(walEnd: walEnd)
            case .xLogData(let walStart, _, _, let payload):
              // Inserts, updates and deletes, nearly all of the stream, are read in place.
              if let made = try changes.receiveRowChange(payload, at: walStart) {
                if try incremental.observeRowChange(payload, at: walStart, changes: changes) {
                  continue
                }
                take(made)
                continue
              }
              let decoded = try PgOutputMessage.decode(payload)
              if case .relation(let relation) = decoded, ChangeStream.needsCatalogKey(relation) {
                let oid = relation.oid
                changes.primaryKeys[oid] = try await control.run {
                  try ControlConnection.primaryKey(of: oid, on: $0)
                }
              }
              if case .relation(let relation) = decoded {
                let unknown = changes.unknownTypes(of: relation)
                if !unknown.isEmpty {
                  let found = try await control.run {
                    try ControlConnection.userTypes(unknown, on: $0)
                  }
                  changes.userTypes.merge(found) { $1 }
                }
                // NOT NULL and defaults: in Debezium's schemas, and a NULL in a column with a
                // default is written as the default (as Kafka Connect's JSON converter does).
                let oid = relation.oid
                changes.columnFacts[oid] = try await control.run {
                  try ControlConnection.columnFacts(of: oid, on: $0)
                }
              }
              take(try changes.receive(decoded, at: walStart))
              take(
                try await incremental.receive(
                  decoded, at: walStart, changes: changes, control: control))
            }
          }
          if let filter {
            records = try await afterSnapshot(
              replayed, filter: filter, tables: changes.tables, progress: progressSuffix)
          }
          // The incremental snapshot's state rides on the last record; a change of it without
          // a record is committed on its own, before the slot is confirmed past it.
          let (stateCommit, mustSave, stamped) = incremental.carry(
            on: &records, snapshot: snapshot, generation: changes.settings.generation)
          // Debezium's heartbeat record has no position: after the state is carried.
          if let record = heartbeat?.due(now: currentTimeMillis()) { records.append(record) }
          // Everything before this LSN is in `records` or in the sends before them (and the
          // slot keeps an open chunk window whole, for a replay to see it again).
          let confirmable = incremental.confirmable(changes.confirmableLSN)
          // Counted per chunk, into the metrics once the chunk is durable.
          let tally = changes.takeTally()
          // Transformed here, while the send before is being written, not in the send's own
          // turn: the chain overlaps that write instead of lengthening the next one.
          // A transform failure fails the task once the send before has finished.
          let transformed = records.isEmpty ? nil : Result { try context.prepare(records) }
          try await finishSend()
          if droppedWritten > 0 {
            replayedDuplicates += droppedWritten
            context.setDetail("skipped_already_durable", "\(replayedDuplicates)")
            context.logger.info(
              "skipped changes already durable in their topics (at or before the committed position)",
              metadata: ["count": "\(droppedWritten)"])
            droppedWritten = 0
          }
          guard let transformed else {
            if let stateCommit {
              do {
                try await context.commit(stateCommit)
              } catch {
                throw SendFailure(underlying: error)
              }
              if let stamped { ledger.durable = stamped }
            }
            metrics.durable(tally)
            if let lsn = window.durable(confirmable) { replication.confirm(lsn) }
            progressed()
            continue
          }
          let prepared: PreparedSend
          do {
            prepared = try transformed.get()
          } catch {
            throw SendFailure(underlying: error)
          }
          // The state to commit after the send: on the last change record, or on its own
          // when the only record is a heartbeat (which has no position).
          let flush =
            stateCommit ?? (mustSave ? records.last(where: { $0.position != nil })?.position : nil)
          sending.addTask { [tally] in
            let placed: [RecordMetadata]
            do {
              placed = try await context.send(prepared)
              // A changed snapshot state is durable before the slot may forget its cause.
              if let flush { try await context.commit(flush) }
            } catch {
              throw SendFailure(underlying: error)
            }
            // Counted as soon as durable, not when the next chunk collects this send.
            metrics.durable(tally)
            return (confirmable, placed.reduce(0) { $0 + ($1.wasReplayed ? 1 : 0) }, stamped)
          }
          inFlight = true
        }
        try await finishSend()
      }
    } onCancel: {
      replication.stop()
    }
  }

  /// The records of changes the snapshot does not hold, the last one carrying the snapshot's
  /// progress (`progress`, a position suffix).
  private func afterSnapshot(
    _ changes: [ChangeRecord], filter: SnapshotReplayFilter,
    tables: [UInt32: ChangeStream.Table], progress: String
  ) async throws -> [SourceRecord] {
    let before = filter.dropped
    var records = try await filter.keep(changes, tables: tables).map(\.sourceRecord)
    if filter.dropped > before {
      context.setDetail("snapshot_overlap_dropped", "\(filter.dropped)")
    }
    if let last = records.last?.position {
      records[records.count - 1].position = SourcePosition(last.text + progress)
    }
    return records
  }

  /// Writes heartbeats (so an idle slot still advances) and shows the slot's confirmed LSN and
  /// lag in the status, until cancelled.
  private func monitor(
    replication: ReplicationStream, control: ControlConnection, metrics: CDCMetrics
  ) async {
    let slot = config.slot
    let interval = min(config.heartbeatMilliseconds, 1000)
    var sinceHeartbeat: Int64 = 0
    while !Task.isCancelled {
      try? await Task.sleep(for: .milliseconds(interval))
      if Task.isCancelled { return }
      sinceHeartbeat += interval
      if sinceHeartbeat >= config.heartbeatMilliseconds {
        sinceHeartbeat = 0
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
