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
///
/// **Parts.** The data is read as *parts*: a whole table, or (with `snapshot_max_threads` > 1)
/// a range of a large table's keys, or of a keyless table's blocks (``Part``). Positions name a
/// part by its index (without ``parts``, part *i* is table *i*). Several parts are read at
/// once by parallel readers, but one writer makes their rows durable one send at a time, and
/// every send holds rows of one part only. So after a crash exactly one send can be cut short,
/// of one part, just as when the tables were read one after another; ``reading`` says where
/// every other part got (finished, or up to the last durable key of its last whole send).
/// Ending a segment turns that into a claim per part; a part's claims over the segments are
/// consecutive ranges of its keys in key order, so the first claim holding a key owns it.
///
/// **Keyless tables** are read in block order by ctid (`ctid > '(b,o)'`): their rows' "key" in
/// positions is the ctid. Their records carry no Kafka key, so each send of a keyless part goes
/// to one partition: the cut send's tail there is exactly how far it got, and the next segment
/// reads on after it instead of reading the table again.
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
  /// The parts the snapshot reads, planned by its first segment when it splits tables into
  /// ranges; nil: one part per table (part *i* is table *i*).
  var parts: [Part]?
  /// How far each part got, as of this progress's record; nil only in progress written before
  /// parts were read in parallel (then the committed point's part and key say it).
  var reading: Reading?
  /// The id of the execute-snapshot signal when this is a blocking snapshot's progress (nil:
  /// the initial snapshot's). Its ``base`` is one past the signal's commit LSN; streaming goes
  /// on after that commit with no replay filter, as Debezium's does.
  var blocking: String? = nil

  /// A range of one table: keys after ``after`` up to and including ``upTo`` (Debezium key
  /// JSON, in PostgreSQL's key order), or for a keyless table the blocks from ``firstBlock``
  /// up to, not including, ``endBlock``. A bound that is nil is open.
  struct Part: Codable, Equatable, Sendable {
    var table: Int
    var after: String?
    var upTo: String?
    var firstBlock: Int?
    var endBlock: Int?
  }

  /// Which parts are read to their end, and how far the others got: the key (or ctid) of the
  /// last row of their last durable send.
  struct Reading: Codable, Equatable, Sendable {
    /// Every part before this one is finished.
    var below = 0
    /// Finished parts from ``below`` on.
    var finished: [Int] = []
    /// Parts under way: the last key durable in each.
    var cursors: [Int: String] = [:]

    func isFinished(_ part: Int) -> Bool { part < below || finished.contains(part) }

    mutating func finish(_ part: Int) {
      cursors[part] = nil
      if !isFinished(part) { finished.append(part) }
      while let i = finished.firstIndex(of: below) {
        finished.remove(at: i)
        below += 1
      }
    }
  }

  /// The number of parts: ``parts``' count, or one per table.
  var partCount: Int { parts?.count ?? tables.count }

  /// The table of part `part`.
  func table(ofPart part: Int) -> Int { parts.map { $0[part].table } ?? part }

  /// The parts of table `table`.
  func parts(ofTable table: Int) -> [Int] {
    guard let parts else { return [table] }
    return parts.indices.filter { parts[$0].table == table }
  }

  /// What one ended segment owns: every part before ``wholeTables`` (named for when parts
  /// were tables), and of part ``wholeTables`` the keys up to and including
  /// ``keys``[partition], or ``otherKeys`` in partitions not listed (nil: none of that part).
  /// A segment that read parts in parallel also owns ``wholeParts`` and, of each part in
  /// ``partKeys``, the keys up to its boundary. A later claim may repeat what an earlier one
  /// owns; the earliest wins (``SnapshotProgress/owner(table:partition:hasKey:keyIsWithin:)``).
  struct Claim: Codable, Equatable, Sendable {
    var lsn: UInt64
    var wholeTables: Int
    var otherKeys: String?
    var keys: [Int: String] = [:]
    var wholeParts: [Int]? = nil
    var partKeys: [Int: Boundary]? = nil

    /// How far a segment got in one part it read partly.
    struct Boundary: Codable, Equatable, Sendable {
      var otherKeys: String?
      var keys: [Int: String] = [:]
    }

    /// The boundary key in `partition` of the partly owned part ``wholeTables``, if any.
    func boundary(partition: Int) -> String? { keys[partition] ?? otherKeys }

    /// What the claim owns of `part`.
    enum Ownership: Equatable {
      case none
      case whole
      /// The keys up to and including this one (in the partition asked about).
      case upTo(String)
    }

    func ownership(part: Int, partition: Int) -> Ownership {
      if part < wholeTables || wholeParts?.contains(part) == true { return .whole }
      if part == wholeTables, let key = boundary(partition: partition) { return .upTo(key) }
      if let b = partKeys?[part], let key = b.keys[partition] ?? b.otherKeys { return .upTo(key) }
      return .none
    }

    /// Every boundary key the claim holds in `part`.
    func boundaryKeys(part: Int) -> [String] {
      var all: [String] = []
      if part == wholeTables { all = keys.values.sorted() + (otherKeys.map { [$0] } ?? []) }
      if let b = partKeys?[part] {
        all += b.keys.values.sorted() + (b.otherKeys.map { [$0] } ?? [])
      }
      return all
    }
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
    if var reading {
      // Parts read in parallel: the cut send was of one part (its `table` field).
      let last = beyond.max { $0.point.sequence < $1.point.sequence }
      let cut = last?.point.table
      let cutTails = beyond.filter { $0.point.table == cut }
      var keyless = false
      if let cut, let ctid = last?.point.key, ctid.hasPrefix("(") {
        // A keyless part's send went to one partition: its tail is how far the part got.
        keyless = true
        reading.cursors[cut] = ctid
      }
      var claim = Claim(lsn: open, wholeTables: reading.below, otherKeys: nil)
      let finished = reading.finished.sorted()
      if !finished.isEmpty { claim.wholeParts = finished }
      for part in Set(reading.cursors.keys).union(cut.map { [$0] } ?? []).sorted()
      where !reading.isFinished(part) {
        var boundary = Claim.Boundary(otherKeys: reading.cursors[part])
        if part == cut, !keyless {
          for tail in cutTails { boundary.keys[tail.partition] = tail.point.key }
        }
        if part == reading.below {
          claim.otherKeys = boundary.otherKeys
          claim.keys = boundary.keys
        } else if boundary.otherKeys != nil || !boundary.keys.isEmpty {
          claim.partKeys = (claim.partKeys ?? [:]).merging([part: boundary]) { $1 }
        }
      }
      closed.append(claim)
      self.open = nil
      self.reading = reading
      return Resume(table: reading.below, afterKey: reading.cursors[reading.below])
    }
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
    // From here on, as if the progress had been written with parts: before the resume point
    // every part is finished; the one it names got up to its key.
    adoptReading(resume)
    return resume
  }

  /// Where progress that predates ``reading`` stands: every part before `resume`'s finished,
  /// its part read up to its key.
  mutating func adoptReading(_ resume: Resume) {
    guard reading == nil else { return }
    var reading = Reading(below: resume.table)
    if let key = resume.afterKey { reading.cursors[resume.table] = key }
    self.reading = reading
  }

  /// The distinct boundary keys that ended segments hold inside `part`.
  func boundaryKeys(inPart part: Int) -> [String] {
    var keys: [String] = []
    for claim in closed {
      for key in claim.boundaryKeys(part: part) where !keys.contains(key) { keys.append(key) }
    }
    return keys
  }

  /// The boundary keys that apply to `partition` of `part`: a new segment skips a row of that
  /// partition whose key is at or before one of them (an ended segment owns it).
  func boundaryKeys(inPart part: Int, partition: Int) -> [String] {
    closed.compactMap {
      if case .upTo(let key) = $0.ownership(part: part, partition: partition) { return key }
      return nil
    }
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
    let tableParts = parts(ofTable: table)
    guard hasKey else {
      for claim in closed
      where tableParts.allSatisfy({ claim.ownership(part: $0, partition: partition) == .whole }) {
        return claim.lsn
      }
      return open ?? base
    }
    /// Whether the key is in `part`'s range (always, when the table is one part).
    func inPart(_ part: Int) async throws -> Bool {
      guard tableParts.count > 1, let range = parts?[part] else { return true }
      if let after = range.after, try await keyIsWithin(after) { return false }
      if let upTo = range.upTo, try await !keyIsWithin(upTo) { return false }
      return true
    }
    for claim in closed {
      for part in tableParts {
        switch claim.ownership(part: part, partition: partition) {
        case .none: continue
        case .whole:
          if try await inPart(part) { return claim.lsn }
        case .upTo(let boundary):
          if try await keyIsWithin(boundary), try await inPart(part) { return claim.lsn }
        }
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

/// The positions of one segment's records that carry no progress (all but the last of a
/// send), built from the text they share in one allocation each: the snapshot writes a
/// million of them a second. Each is what ``SnapshotPoint/sourcePosition(progress:)`` makes.
struct SnapshotPositions {
  private let point: SnapshotPoint
  /// The generation prefix, the base and the segment: `[G…-]BBBB…-SSSS…`.
  private let head: [UInt8]

  init(base: UInt64, segment: UInt64, generation: UInt32) {
    point = SnapshotPoint(
      base: base, segment: segment, sequence: 0, table: 0, key: nil, generation: generation)
    let text =
      PositionGeneration.prefix(generation) + SourcePosition.hex(max(base, 1) - 1) + "-S"
      + SourcePosition.hex(segment)
    head = Array(text.utf8)
  }

  func position(sequence: UInt64, table: Int, key: [UInt8]) -> SourcePosition {
    // Past the fixed widths (never in practice), the general form widens them.
    guard sequence >> 48 == 0, table >= 0, table >> 16 == 0 else {
      var slow = point
      slow.sequence = sequence
      slow.table = table
      slow.key = String(decoding: key, as: UTF8.self)
      return slow.sourcePosition(progress: nil)
    }
    let count = head.count + 12 + 4 + 2 + key.count
    let text = String(unsafeUninitializedCapacity: count) { buffer in
      var i = 0
      for byte in head {
        buffer[i] = byte
        i += 1
      }
      func hex(_ value: UInt64, width: Int) {
        var rest = value
        for j in stride(from: i + width - 1, through: i, by: -1) {
          let digit = UInt8(truncatingIfNeeded: rest & 0xF)
          buffer[j] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "A") + digit - 10
          rest >>= 4
        }
        i += width
      }
      hex(sequence, width: 12)
      hex(UInt64(table), width: 4)
      buffer[i] = UInt8(ascii: "|")
      buffer[i + 1] = UInt8(ascii: "|")
      i += 2
      for byte in key {
        buffer[i] = byte
        i += 1
      }
      return i
    }
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
