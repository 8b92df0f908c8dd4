import Foundation
import SluiceCore

/// How far the initial snapshot got, and which part of the data each of its segments read.
/// It travels in source positions (the last record of each send carries it), so it is exactly
/// as durable as the records it describes.
///
/// A snapshot is read in *segments*. Each segment reads under the exported snapshot of a
/// temporary slot taken at its own LSN; a crash ends the segment, and the next one reads the
/// rest under a newer snapshot. Streaming then replays the main slot from ``base``, where each
/// change of a row is kept only if it committed at or after the LSN of the segment that read
/// that row ("owns" it): earlier changes are already in that segment's `r` event. A row owned
/// by a segment is one it read, or that did not exist when it read the part of the table the
/// row falls in; the claims below say which part that was.
struct SnapshotProgress: Codable, Equatable, Sendable {
  /// The main slot's confirmed LSN when the snapshot began; streaming replays from there.
  /// Snapshot positions sort just before it, so they precede every streamed change.
  var base: UInt64
  /// The captured tables in snapshot order; positions name tables by index in this list.
  var tables: [QualifiedName]
  /// Segments a crash ended, oldest first, each with the part of the data it owns.
  var closed: [Claim] = []
  /// The LSN of the segment being read (or, once ``done``, of the last one); nil before the
  /// first segment began.
  var open: UInt64?
  /// Every table is read: only streaming is left.
  var done = false

  /// What one ended segment owns: every table before ``wholeTables``, and of table
  /// ``wholeTables`` the keys up to and including ``keys``[partition], or ``otherKeys`` in
  /// partitions not listed (nil: none of that table).
  struct Claim: Codable, Equatable, Sendable {
    var lsn: UInt64
    var wholeTables: Int
    var otherKeys: String?
    var keys: [Int: String] = [:]

    /// The boundary key in `partition` of the partly owned table, if any.
    func boundary(partition: Int) -> String? { keys[partition] ?? otherKeys }
  }

  init(base: UInt64, tables: [QualifiedName]) {
    self.base = base
    self.tables = tables
  }

  // MARK: - Ending a segment

  /// Where a new segment starts reading: table index and the last key before it (nil: the
  /// table's start).
  struct Resume: Equatable, Sendable {
    var table: Int
    var afterKey: String?
  }

  /// The last durable snapshot record of one partition, as its position says.
  struct Tail: Equatable, Sendable {
    var partition: Int
    var point: SnapshotPoint
  }

  /// Ends the open segment after a crash: `committed` is the last position whose records were
  /// all durable, `tails` the last snapshot record of each partition of the tables from the
  /// committed one on. Records past `committed` belong to the one send that was cut short, so
  /// they are all of one table; the partitions they reached own up to them, the others up to
  /// `committed`. Returns where the next segment reads from.
  mutating func endOpenSegment(committed: SnapshotPoint, tails: [Tail]) -> Resume {
    guard let open, committed.segment == open else {
      // The committed point is from an earlier segment that is already ended (the crash came
      // before the new one read anything): resume where it said.
      return Resume(table: committed.table, afterKey: committed.key)
    }
    let beyond = tails.filter { $0.point.segment == open && $0.point.sequence > committed.sequence }
    var claim = Claim(lsn: open, wholeTables: committed.table, otherKeys: committed.key)
    var resume = Resume(table: committed.table, afterKey: committed.key)
    if let table = beyond.map(\.point.table).max() {
      if table > committed.table {
        // The committed table had no more rows; the cut send was of a later table.
        claim = Claim(lsn: open, wholeTables: table, otherKeys: nil)
        resume = Resume(table: table, afterKey: nil)
      }
      for tail in beyond where tail.point.table == table {
        claim.keys[tail.partition] = tail.point.key
      }
    }
    closed.append(claim)
    self.open = nil
    return resume
  }

  /// The distinct boundary keys that ended segments hold inside `table`.
  func boundaryKeys(inTable table: Int) -> [String] {
    var keys: [String] = []
    for claim in closed where claim.wholeTables == table {
      for key in claim.keys.values.sorted() + (claim.otherKeys.map { [$0] } ?? [])
      where !keys.contains(key) {
        keys.append(key)
      }
    }
    return keys
  }

  /// The boundary keys that apply to `partition` of `table`: a new segment skips a row of that
  /// partition whose key is at or before one of them (an ended segment owns it).
  func boundaryKeys(inTable table: Int, partition: Int) -> [String] {
    closed.filter { $0.wholeTables == table }.compactMap { $0.boundary(partition: partition) }
  }

  // MARK: - Filtering the replay

  /// Whether a streamed change that committed at `commitLSN` must be dropped, not needing a
  /// key comparison: changes at or after the last segment's LSN are never in a snapshot.
  func mayOverlap(commitLSN: UInt64) -> Bool {
    guard let open else { return false }
    return commitLSN < open
  }

  /// The question ``owner(table:partition:hasKey:keyIsWithin:)`` asks when a change falls in
  /// a partly owned table: is its key at or before `boundary`?
  typealias KeyComparison = (_ boundary: String) async throws -> Bool

  /// The LSN of the segment that owns a row of `table` (by index) in `partition`. A row
  /// without a key (a table without a primary key, or a truncate) is owned by the first
  /// segment that owns its whole table.
  func owner(
    table: Int, partition: Int, hasKey: Bool, keyIsWithin: KeyComparison
  ) async throws -> UInt64 {
    for claim in closed {
      if table < claim.wholeTables { return claim.lsn }
      if table == claim.wholeTables, hasKey, let boundary = claim.boundary(partition: partition),
        try await keyIsWithin(boundary)
      {
        return claim.lsn
      }
    }
    return open ?? base
  }
}

/// A snapshot record's place: after every earlier snapshot record (by segment, then by a
/// sequence number), before every streamed change. Its text is
/// `BBBBBBBBBBBBBBBB-SSSSSSSSSSSSSSSSSNNNNNNNNNNNNTTTT|<progress>|<key>`: the base LSN less one,
/// the segment's LSN, the sequence number and the table index in fixed-width hexadecimal (the
/// part compared), then the progress (only on the last record of a send) and the row's key.
/// A snapshot taken after a replay reset the offsets starts with that ``PositionGeneration``.
struct SnapshotPoint: Equatable, Sendable {
  var base: UInt64
  var segment: UInt64
  var sequence: UInt64
  var table: Int
  /// The row's Debezium key as JSON; nil before a segment's first row.
  var key: String?
  /// 0 unless the offsets were reset after a replay (``PositionGeneration``).
  var generation: UInt32 = 0

  func sourcePosition(progress: SnapshotProgress?) -> SourcePosition {
    var text = PositionGeneration.prefix(generation)
    text += SourcePosition.hex(max(base, 1) - 1) + "-S" + SourcePosition.hex(segment)
    text += SourcePosition.hex(sequence, width: 12) + SourcePosition.hex(UInt64(table), width: 4)
    text += "|" + (progress.map(CDCPosition.encode) ?? "") + "|" + (key ?? "")
    return SourcePosition(text)
  }
}

/// A CDC source position: a snapshot record's or a streamed change's, either with the snapshot
/// progress when it carries one; or, after offsets that held a replay's generation were reset,
/// only that generation (the connector starts anew, and its positions must stay in it).
enum CDCPosition: Equatable {
  case snapshot(SnapshotPoint, SnapshotProgress?)
  case change(ChangePosition, SnapshotProgress?)
  /// Nothing committed but the generation: the task starts as a new connector would.
  case reset(generation: UInt32)

  init?(_ position: SourcePosition) {
    let parts = position.text.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
    let progress = parts.count > 1 && !parts[1].isEmpty ? Self.decode(parts[1]) : nil
    if parts.count > 1, parts[1].isEmpty == false, progress == nil { return nil }
    guard let (generation, fixed) = PositionGeneration.split(parts[0]) else { return nil }
    if fixed.isEmpty, generation > 0, parts.count == 1 {
      self = .reset(generation: generation)
      return
    }
    if let change = ChangePosition(SourcePosition(String(parts[0]))) {
      self = .change(change, progress)
      return
    }
    let pieces = fixed.split(separator: "-")
    guard pieces.count == 2, pieces[0].count == 16, pieces[1].count == 33,
      pieces[1].first == "S", let base = UInt64(pieces[0], radix: 16), parts.count == 3
    else { return nil }
    let rest = pieces[1].dropFirst()
    guard let segment = UInt64(rest.prefix(16), radix: 16),
      let sequence = UInt64(rest.dropFirst(16).prefix(12), radix: 16),
      let table = Int(rest.suffix(4), radix: 16)
    else { return nil }
    let key = parts[2].isEmpty ? nil : String(parts[2])
    self = .snapshot(
      SnapshotPoint(
        base: base + 1, segment: segment, sequence: sequence, table: table, key: key,
        generation: generation),
      progress)
  }

  /// The position as the runtime keeps it.
  var sourcePosition: SourcePosition {
    switch self {
    case .snapshot(let point, let progress):
      point.sourcePosition(progress: progress)
    case .change(let change, let progress):
      SourcePosition(change.sourcePosition.text + (progress.map { "|" + Self.encode($0) } ?? ""))
    case .reset(let generation):
      SourcePosition(PositionGeneration.prefix(generation))
    }
  }

  /// The generation positions are written in (``PositionGeneration``).
  var generation: UInt32 {
    switch self {
    case .snapshot(let point, _): point.generation
    case .change(let change, _): change.generation
    case .reset(let generation): generation
    }
  }

  var progress: SnapshotProgress? {
    switch self {
    case .snapshot(_, let progress), .change(_, let progress): progress
    case .reset: nil
    }
  }

  /// The progress as position text: base64 of its JSON (no `|` in it).
  static func encode(_ progress: SnapshotProgress) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return ((try? encoder.encode(progress)) ?? Data()).base64EncodedString()
  }

  static func decode(_ text: Substring) -> SnapshotProgress? {
    guard let data = Data(base64Encoded: String(text)) else { return nil }
    return try? JSONDecoder().decode(SnapshotProgress.self, from: data)
  }
}
