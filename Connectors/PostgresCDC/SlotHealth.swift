import SluiceCore

/// One reading of the slot's row in `pg_replication_slots`.
struct SlotStatistics: Sendable, Equatable {
  /// `pg_current_wal_lsn() - restart_lsn`: WAL PostgreSQL keeps on disk for the slot; nil when
  /// the slot has no restart LSN (invalidated).
  var retainedBytes: Int64?
  /// `pg_current_wal_lsn() - confirmed_flush_lsn`: WAL written since Sluice's last confirmation.
  var confirmedLagBytes: Int64?
  /// `reserved`, `extended`, `unreserved` or `lost` (PostgreSQL 13+; nil before).
  var walStatus: String?
  /// Bytes that can still be written before the slot is at risk of invalidation; nil without
  /// `max_slot_wal_keep_size` (or before PostgreSQL 13).
  var safeWALSizeBytes: Int64?
}

/// What a reading means for the task: the health decision as a value, so every threshold and
/// `wal_status` case is a unit test.
enum SlotHealth: Equatable {
  case ok
  /// Above `slot_warn_retained_wal`: a DEGRADED warning.
  case degraded(String)
  /// Above `slot_fail_retained_wal`, or `wal_status: unreserved` (PostgreSQL removes the WAL
  /// it needs at the next checkpoint): a CRITICAL warning; the task keeps streaming, since
  /// stopping would only hold back more.
  case critical(String)
  /// `wal_status: lost`: the slot was invalidated and cannot stream again; the task fails.
  case lost(String)
  /// No row for the slot (not created yet, or dropped).
  case missing

  /// `replayWindowBytes`: the connector's `replay_window`, WAL the slot holds on purpose, which
  /// the messages name so that nobody hunts for a stuck connector that is not there.
  static func assess(
    _ s: SlotStatistics, slot: String, connector: String, thresholds: SlotThresholds,
    replayWindowBytes: UInt64 = 0
  ) -> SlotHealth {
    if s.walStatus == "lost" { return .lost(lostMessage(slot: slot, connector: connector)) }
    let retained = s.retainedBytes ?? 0
    var figures = "retains \(ByteSize.text(retained)) of WAL"
    if replayWindowBytes > 0 {
      figures +=
        " (up to \(ByteSize.text(Int64(replayWindowBytes))) of it the replay_window keeps on purpose)"
    }
    let advice =
      "Sluice confirms WAL only once its records are durable: a paused, failing or slow connector, or a long transaction in the database, holds it back. Resume or fix the connector, or end the transaction"
    if let fail = thresholds.fail, retained > fail {
      return .critical(
        "replication slot '\(slot)' \(figures), above slot_fail_retained_wal (\(ByteSize.text(fail))); PostgreSQL keeps it on disk until the slot advances. \(advice); the task keeps streaming"
      )
    }
    if s.walStatus == "unreserved" {
      let safe = s.safeWALSizeBytes.map { " (safe_wal_size \(ByteSize.text($0)))" } ?? ""
      return .critical(
        "replication slot '\(slot)' \(figures) and is past max_slot_wal_keep_size (wal_status unreserved\(safe)): PostgreSQL removes the WAL it needs at the next checkpoint and the slot is then lost. \(advice), or raise max_slot_wal_keep_size"
      )
    }
    if let warn = thresholds.warn, retained > warn {
      return .degraded(
        "replication slot '\(slot)' \(figures), above slot_warn_retained_wal (\(ByteSize.text(warn))). \(advice); if the backlog is expected (a large snapshot or batch), raise slot_warn_retained_wal"
      )
    }
    return .ok
  }

  /// What `wal_status: lost` means and what to do about it.
  static func lostMessage(slot: String, connector: String) -> String {
    "replication slot '\(slot)' was invalidated by PostgreSQL (wal_status lost): it held back more WAL than max_slot_wal_keep_size allows, so the WAL it needed was removed and the changes since its last confirmed position cannot be streamed. To go on: SELECT pg_drop_replication_slot('\(slot)'); then reset the connector's offsets (PUT /connectors/\(connector)/stop, DELETE /connectors/\(connector)/offsets, PUT /connectors/\(connector)/resume) so that it takes a new snapshot, or restart it as is to stream from now on and accept the gap; consider raising max_slot_wal_keep_size"
  }

  /// The task warning it makes, nil when there is none to show.
  var warning: TaskWarning? {
    switch self {
    case .ok, .missing, .lost: nil
    case .degraded(let message):
      TaskWarning(source: Self.warningSource, severity: .warning, message: message)
    case .critical(let message):
      TaskWarning(source: Self.warningSource, severity: .critical, message: message)
    }
  }

  static let warningSource = "replication_slot"
}
