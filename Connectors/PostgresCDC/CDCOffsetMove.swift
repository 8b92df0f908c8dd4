/// What a PATCH of a CDC connector's offsets to an LSN does, decided from the slot's confirmed
/// LSN, the server's current one and the committed position, before anything changes.
///
/// - Before the slot's `confirmed_flush_lsn`: refused. PostgreSQL never decodes a slot from
///   before it; the message says that `replay_window` keeps WAL behind the durable point
///   decodable, the one way to move back further.
/// - From there up to (not including) the commit LSN of the committed change: a replay. The
///   position committed is `target` in the next ``PositionGeneration`` (the snapshot progress
///   kept). On resume the slot streams from its confirmed LSN; the task drops the changes that
///   committed at or before `target` (they are in the topics), and the later ones are written
///   again, as the new generation sorts after every position written before.
/// - At the committed change's commit LSN, what GET shows with a window: nothing changes.
/// - Past the committed position: forward, as before replays existed — the slot is advanced to
///   `target` (nothing when it is there already), up to the server's current LSN.
enum CDCOffsetMove: Equatable {
  case refuse(String)
  /// Commit this position; the slot stays where it is.
  case rewind(CDCPosition)
  /// Nothing changes.
  case keep
  /// `pg_replication_slot_advance` to this LSN.
  case advance(LSN)

  static func decide(
    target: LSN, confirmed: LSN, current: LSN, committed: CDCPosition?, slot: String,
    windowBytes: UInt64
  ) -> CDCOffsetMove {
    if target < confirmed {
      return .refuse(
        beforeConfirmedMessage(
          target: target, confirmed: confirmed, slot: slot, windowBytes: windowBytes))
    }
    if case .change(let written, let progress)? = committed {
      if target < written.commitLSN {
        return .rewind(rewind(to: target, written: written, progress: progress))
      }
      // GET's LSN given back (a KIP-875 tool's round trip): not a move.
      if target == written.commitLSN { return .keep }
    }
    if target == confirmed { return .keep }
    if target > current {
      return .refuse("LSN \(target) is past the server's current WAL position \(current)")
    }
    return .advance(target)
  }

  /// The position a replay to `target` commits when `written` is the committed change: every
  /// change that committed at or before `target` sorts at or before it, every later one after.
  static func rewind(to target: LSN, written: ChangePosition, progress: SnapshotProgress?)
    -> CDCPosition
  {
    .change(
      ChangePosition(commitLSN: target, index: .max, generation: written.generation + 1), progress)
  }

  /// Why an LSN before the slot's `confirmed_flush_lsn` cannot be reached, and what would make
  /// it reachable.
  static func beforeConfirmedMessage(
    target: LSN, confirmed: LSN, slot: String, windowBytes: UInt64
  ) -> String {
    let head =
      "LSN \(target) is before the confirmed_flush_lsn \(confirmed) of replication slot '\(slot)': PostgreSQL cannot decode a logical replication slot from before its confirmed_flush_lsn (the WAL behind it may already be gone)."
    let tail =
      " To read the tables again instead, DELETE the offsets: the slot is dropped and created anew, and with snapshot: initial the tables are read again."
    guard windowBytes > 0 else {
      return head
        + " Sluice confirms an LSN as soon as its changes are durable in the topics, so without a replay_window a CDC connector's offset can only move forward. Set replay_window (a size like 512MiB) to keep that much WAL behind the durable point decodable; the connector can then be moved back inside it."
        + tail
    }
    return head
      + " This connector's replay_window (\(ByteSize.text(Int64(windowBytes)))) keeps the changes from \(confirmed) on; a larger replay_window keeps more WAL to move back into."
      + tail
  }
}
