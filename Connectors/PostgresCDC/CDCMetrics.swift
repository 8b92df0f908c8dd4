import CoreMetrics
import SluiceCore
import Synchronization

/// The CDC connector's Prometheus series (`sluice_cdc_*`), one set per connector and held for
/// as long as its task runs: events and transactions as they become durable, how far behind
/// the source the last durable transaction was, snapshot progress, the slot's figures and the
/// age of the last heartbeat. Updated per chunk and per slot reading, never per event.
final class CDCMetrics: Sendable {
  private let scope: MetricsScope
  private let events: [Counter]
  private let transactions: Counter
  private let behindSource: Gauge
  private let snapshotRows: Counter
  private let snapshotRemaining: Gauge
  /// The slot's labels; its gauges are made at its first reading, so a figure PostgreSQL does
  /// not give (`safe_wal_size` without `max_slot_wal_keep_size`) has no series rather than 0.
  private let slotLabels: [(String, String)]
  private let heartbeatAge: Gauge
  private let lastHeartbeat = LastHeartbeat()
  private let heartbeatHook: Mutex<ScrapeHook?>

  /// The values `wal_status` takes, one series each.
  static let walStatuses = ["reserved", "extended", "unreserved", "lost"]
  /// The `op` labels, in ``Op`` order.
  static let ops = ["c", "u", "d", "r", "t"]

  enum Op: Int {
    case create, update, delete, read, truncate
  }

  init(connector: String, slot: String) {
    let c = [("connector", connector)]
    let s = [("connector", connector), ("slot", slot)]
    let scope = MetricsScope()
    self.scope = scope
    events = Self.ops.map { scope.counter("sluice_cdc_events_total", c + [("op", $0)]) }
    transactions = scope.counter("sluice_cdc_transactions_total", c)
    behindSource = scope.gauge("sluice_cdc_milliseconds_behind_source", c)
    snapshotRows = scope.counter("sluice_cdc_snapshot_rows_total", c)
    snapshotRemaining = scope.gauge("sluice_cdc_snapshot_remaining_tables", c)
    slotLabels = s
    let age = scope.gauge("sluice_cdc_last_heartbeat_age_seconds", c)
    heartbeatAge = age
    let last = lastHeartbeat
    snapshotRemaining.record(0)
    // The age is read when scraped, so it is exact however rarely heartbeats run.
    heartbeatHook = Mutex(
      WorkerMetrics.shared.onScrape {
        let since = ContinuousClock.now - last.instant.withLock { $0 }
        let (seconds, attoseconds) = since.components
        age.record(Double(seconds) + Double(attoseconds) / 1e18)
      })
  }

  /// A chunk's changes are durable.
  func durable(_ tally: ChangeTally, nowMilliseconds: Int64 = currentTimeMillis()) {
    if tally.creates > 0 { events[Op.create.rawValue].increment(by: Int64(tally.creates)) }
    if tally.updates > 0 { events[Op.update.rawValue].increment(by: Int64(tally.updates)) }
    if tally.deletes > 0 { events[Op.delete.rawValue].increment(by: Int64(tally.deletes)) }
    if tally.truncates > 0 { events[Op.truncate.rawValue].increment(by: Int64(tally.truncates)) }
    if tally.transactions > 0 { transactions.increment(by: Int64(tally.transactions)) }
    if let commit = tally.lastCommitMilliseconds {
      // The server's clock and the worker's may differ a little; behind is never negative.
      behindSource.record(max(0, nowMilliseconds - commit))
    }
  }

  /// Snapshot rows made durable.
  func snapshotRowsDurable(_ count: Int) {
    guard count > 0 else { return }
    snapshotRows.increment(by: Int64(count))
    events[Op.read.rawValue].increment(by: Int64(count))
  }

  func snapshotRemainingTables(_ count: Int) { snapshotRemaining.record(count) }

  /// A heartbeat was written to the WAL.
  func heartbeatWritten() { lastHeartbeat.instant.withLock { $0 = .now } }

  /// A reading of the slot.
  func slot(_ s: SlotStatistics) {
    if let retained = s.retainedBytes {
      scope.gauge("sluice_cdc_replication_slot_retained_wal_bytes", slotLabels).record(retained)
    }
    if let lag = s.confirmedLagBytes {
      scope.gauge("sluice_cdc_confirmed_flush_lag_bytes", slotLabels).record(lag)
    }
    if let status = s.walStatus {
      for name in Self.walStatuses {
        scope.gauge("sluice_cdc_wal_status", slotLabels + [("status", name)])
          .record(name == status ? 1 : 0)
      }
    }
    if let safe = s.safeWALSizeBytes {
      scope.gauge("sluice_cdc_safe_wal_size_bytes", slotLabels).record(safe)
    }
  }

  /// Removes the connector's series: its task stopped.
  func release() {
    heartbeatHook.withLock {
      $0?.cancel()
      $0 = nil
    }
    scope.release()
  }
}

/// When the last heartbeat was written (at first: when the task started), read by the scrape
/// hook.
private final class LastHeartbeat: Sendable {
  let instant = Mutex(ContinuousClock.now)
}
