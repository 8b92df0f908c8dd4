import SluiceCore
import SluicePostgres

/// Watches the task's replication slot for as long as the task runs, snapshot included: every
/// `slot_health_poll_ms` it reads the slot's row in `pg_replication_slots` over an ordinary
/// connection of its own (not the replication connection, nor the task's control connection,
/// so a slow query there never delays it), and shows the figures in the metrics, in the
/// status details and, past a threshold, as the task's warning (``SlotHealth``).
///
/// A slot PostgreSQL invalidated (`wal_status: lost`) can never stream again: ``run()`` then
/// throws ``SlotLost`` and the task fails with what to do. A reading that fails (the database
/// is restarting) is shown in the details and tried again next time; it fails nothing.
struct SlotMonitor {
  let config: CDCConfig
  let context: any SourceTaskContext
  let metrics: CDCMetrics

  func run() async throws {
    let connection = ControlConnection(config: config, purpose: "slot health")
    defer { Task { await connection.close() } }
    let slot = config.slot
    var last: SlotHealth?
    while !Task.isCancelled {
      // Until the slot exists (set-up creates it as the task starts), look again soon.
      var wait = config.slotHealthPollInterval
      do {
        let statistics = try await connection.run { try Self.read(slot: slot, on: $0) }
        let health =
          statistics.map {
            SlotHealth.assess(
              $0, slot: slot, connector: config.name, thresholds: config.slotThresholds,
              replayWindowBytes: config.replayWindowBytes)
          }
          ?? .missing
        if let statistics { show(statistics) }
        context.setDetail("slot_health", nil)
        if health != last {
          report(health, after: last)
          last = health
        }
        if case .lost(let reason) = health { throw SlotLost(description: reason) }
        if health == .missing { wait = min(wait, .seconds(1)) }
      } catch let error as SlotLost {
        throw error
      } catch {
        if Task.isCancelled { break }
        context.setDetail("slot_health", "cannot read the slot's figures: \(error)")
      }
      try? await Task.sleep(for: wait)
    }
  }

  /// Clears what the monitor set in the status: the task is stopping.
  func clear() {
    context.setWarning(SlotHealth.warningSource, nil)
  }

  private func show(_ s: SlotStatistics) {
    metrics.slot(s)
    context.setDetail("retained_wal_bytes", s.retainedBytes.map { "\($0)" })
    context.setDetail("wal_status", s.walStatus)
    context.setDetail("safe_wal_size_bytes", s.safeWALSizeBytes.map { "\($0)" })
  }

  /// Sets or clears the warning, and logs the change (a return to OK only after a warning).
  private func report(_ health: SlotHealth, after previous: SlotHealth?) {
    context.setWarning(SlotHealth.warningSource, health.warning)
    switch health {
    case .ok, .missing:
      if previous?.warning != nil {
        context.logger.info(
          "replication slot caught up; its health is OK", metadata: ["slot": "\(config.slot)"])
      }
    case .degraded(let reason):
      context.logger.warning("\(reason)", metadata: ["slot": "\(config.slot)"])
    case .critical(let reason), .lost(let reason):
      context.logger.error("\(reason)", metadata: ["slot": "\(config.slot)"])
    }
  }

  /// The slot's figures; nil when it has no row. On a standby (PostgreSQL 16 decodes there)
  /// the WAL position is the replayed one, since `pg_current_wal_lsn()` fails in recovery.
  static func read(slot: String, on connection: PostgresConnection) throws -> SlotStatistics? {
    let current =
      "(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)"
    // wal_status and safe_wal_size are PostgreSQL 13's.
    let since13 = connection.serverVersion >= 130000
    let row = try connection.execute(
      """
      SELECT \(current) - restart_lsn, \(current) - confirmed_flush_lsn,
        \(since13 ? "wal_status, safe_wal_size" : "NULL, NULL")
      FROM pg_replication_slots WHERE slot_name = $1
      """, [slot]
    ).first
    guard let row else { return nil }
    // The differences are numeric; a fraction never appears, but parse through Double anyway.
    func bytes(_ text: String??) -> Int64? {
      (text ?? nil).flatMap { Int64($0) ?? Double($0).map { Int64($0) } }
    }
    return SlotStatistics(
      retainedBytes: bytes(row[0]), confirmedLagBytes: bytes(row[1]), walStatus: row[2] ?? nil,
      safeWALSizeBytes: bytes(row[3]))
  }
}

/// The slot was invalidated (`wal_status: lost`); the message says what to do.
struct SlotLost: Error, CustomStringConvertible {
  var description: String
}
