/// Where `sluice replay` moves each partition of a sink, worked out before anything changes so
/// a request that cannot be met (a time after every record) stops the connector for nothing.
///
/// By offset, each partition goes to N as asked, within what the log keeps (clamped to its
/// start and end, which the output says) — forward too, which skips records, also said. By time, each partition goes back to its first
/// record at or after the time; a partition the sink has not yet read that far stays where it
/// is (a replay never skips records), and so does one whose records are all older.
struct ReplayPlan: Equatable {
  /// Where to move to: an offset, or a time in milliseconds since the epoch.
  enum Target: Equatable {
    case offset(Int64)
    case time(Int64)
  }

  /// One partition of a sink's topics as the worker describes it.
  struct Partition: Equatable {
    var topic: String
    var partition: Int
    var start: Int64
    var end: Int64
    /// The sink's next offset; nil when it has committed none (it starts at `start`).
    var current: Int64?
    /// For a replay by time, the first offset at or after it (nil when every record is older).
    var atTime: Int64?
  }

  /// What happens to one partition.
  struct Move: Equatable {
    var topic: String
    var partition: Int
    var from: Int64?
    var to: Int64
    /// Why `to` is not simply what was asked (clamped, kept), for the output.
    var note: String?

    var changes: Bool { from != to }
  }

  var moves: [Move]

  /// A plan, or why none exists (nothing to move by that time).
  static func make(_ partitions: [Partition], to target: Target, timeText: String = "")
    throws(ReplayError) -> ReplayPlan
  {
    guard !partitions.isEmpty else {
      throw ReplayError("the connector's topics have no partitions (yet) to replay")
    }
    if case .time = target, partitions.allSatisfy({ $0.atTime == nil }) {
      throw ReplayError(
        "no record at or after \(timeText) in \(Set(partitions.map(\.topic)).sorted().joined(separator: ", ")): every record kept is older, so there is nothing to deliver again"
      )
    }
    return ReplayPlan(moves: partitions.map { move($0, to: target) })
  }

  private static func move(_ p: Partition, to target: Target) -> Move {
    var move = Move(
      topic: p.topic, partition: p.partition, from: p.current, to: p.current ?? p.start)
    switch target {
    case .offset(let asked):
      move.to = min(max(asked, p.start), p.end)
      if asked < p.start {
        move.note = "clamped to the log start \(p.start): offsets below it are no longer kept"
      } else if asked > p.end {
        move.note = "clamped to the log end \(p.end)"
      }
      // Asked for explicitly, so done; but said, since it is the opposite of a replay.
      if let current = p.current, move.to > current {
        let skipped = "forward: offsets \(current)..<\(move.to) are skipped, never delivered"
        move.note = move.note.map { "\($0); \(skipped)" } ?? skipped
      }
    case .time:
      guard let found = p.atTime else {
        move.note = "every record of this partition is older than the time: unchanged"
        return move
      }
      if let current = p.current, current < found {
        move.note = "the sink has not yet delivered records from that time: unchanged"
        return move
      }
      move.to = found
    }
    return move
  }
}

/// A replay the CLI refuses, with the reason (exit status 1).
struct ReplayError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
