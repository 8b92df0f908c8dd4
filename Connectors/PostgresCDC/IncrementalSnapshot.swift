import Foundation
import SluiceCore

/// Incremental snapshots on signal (Debezium's `execute-snapshot`, DBLog's watermarks) as a
/// state machine (STYLE.md §1): signals, watermarks and the table's changes in, in stream
/// order; chunk reads to start and chunk rows to emit out. It does no I/O.
///
/// Everything it acts on comes through the WAL — signals (written by the admin API with
/// `pg_logical_emit_message`, or inserted into the signal table) and the watermarks and rows
/// of each chunk (``WatermarkMessage``) — so its transitions are a function of the stream.
/// Its durable ``State`` rides in the source positions the runtime commits with the records
/// (``stamp(_:)``), and a restart rebuilds the machine from the committed state and replays
/// the slot: what it decided before the crash it decides again in the same way.
struct IncrementalSnapshot {
  /// A table to read, with the `additional-conditions` filter of its signal; or a
  /// `data-collections` regular expression not yet matched against the captured tables.
  struct Table: Codable, Equatable, Sendable {
    /// The table (unused while ``pattern`` is set).
    var name: QualifiedName
    var filter: String?
    /// Debezium's `surrogate-key`: the column the chunks are ordered and bounded by instead
    /// of the primary key (which still keys the events).
    var surrogateKey: String? = nil
    /// An expression the reader matches against the captured tables when it comes first: it
    /// writes the tables it matches into the WAL (an `expand` watermark), which take its
    /// place, so a replay meets the same list.
    var pattern: String? = nil
    /// For an expression: the signal's `additional-conditions`, to give the tables it
    /// matches their filters.
    var conditions: [Condition]? = nil

    /// An `additional-conditions` entry: a table name or expression and its filter.
    struct Condition: Codable, Equatable, Sendable {
      var collection: String
      var filter: String
    }

    init(name: QualifiedName, filter: String? = nil, surrogateKey: String? = nil) {
      self.name = name
      self.filter = filter
      self.surrogateKey = surrogateKey
    }

    init(pattern: String, conditions: [Condition] = [], surrogateKey: String? = nil) {
      self.name = QualifiedName(schema: "", table: "")
      self.pattern = pattern
      self.conditions = conditions.isEmpty ? nil : conditions
      self.surrogateKey = surrogateKey
    }

    /// The same table, or the same expression.
    func isSameEntry(as other: Table) -> Bool {
      pattern == other.pattern && (pattern != nil || name == other.name)
    }

    /// Whether one of `selectors` (a stop-snapshot's) takes the entry out.
    func isSelected(by selectors: [TableSelector]) -> Bool {
      if let pattern { return selectors.contains { $0.text == pattern } }
      return selectors.contains { $0.matches(name) }
    }

    /// The entries for the tables an expression matched, each with the first condition that
    /// selects it.
    func expanded(to tables: [QualifiedName]) -> [Table] {
      tables.map { name in
        let filter = (conditions ?? []).first {
          ((try? TableSelector(parsing: $0.collection)) ?? TableSelector(expression: $0.collection))
            .matches(name)
        }?.filter
        return Table(name: name, filter: filter, surrogateKey: surrogateKey)
      }
    }

    var description: String { pattern.map { "/\($0)/" } ?? name.description }
  }

  /// A snapshot being read.
  struct Running: Codable, Equatable, Sendable {
    /// The execute-snapshot signal's id.
    var id: String
    /// The LSN where that signal sat: the snapshot's identity in the watermarks.
    var snapshot: UInt64
    /// Tables left, the first being read.
    var tables: [Table]
    /// Chunks of the first table emitted so far.
    var chunk: UInt32 = 0
    /// The last key those chunks covered (text per key column); nil: none yet.
    var after: [String]? = nil
    /// The first table's largest key when its first chunk was read: its read ends there
    /// (rows inserted later arrive through the stream).
    var maximum: [String]? = nil
    var paused = false
    /// Rows emitted, for the status.
    var rows: UInt64 = 0
  }

  /// A blocking snapshot asked for and not begun yet: streaming stops after the signal's
  /// transaction, and the task reads the tables before it streams again. Once the read has
  /// begun, its own positions (``SnapshotProgress``) say how far it got.
  struct Blocking: Codable, Equatable, Sendable {
    /// The execute-snapshot signal's id.
    var id: String
    /// The commit LSN of the signal's transaction: the snapshot's rows sort just after it.
    var commitLSN: UInt64
    /// The `data-collections` entries: tables, and expressions to match when it begins.
    var tables: [Table]
  }

  /// What must survive a crash.
  struct State: Codable, Equatable, Sendable {
    /// The commit LSN of the last transaction whose signal or watermark changed the state,
    /// and where in it that message sat: after a restart, the slot may stream those again,
    /// and they are not applied twice.
    var through: UInt64 = 0
    var throughAt: UInt64 = 0
    var running: Running? = nil
    var blocking: Blocking? = nil
  }

  /// A chunk for the reader (``ChunkReader``) to read.
  struct ChunkRequest: Equatable, Sendable {
    var snapshot: UInt64
    var table: QualifiedName
    var filter: String?
    var chunk: UInt32
    var after: [String]?
    var maximum: [String]?
    var size: Int
    /// The column to order and bound the chunks by instead of the primary key.
    var surrogateKey: String? = nil
    /// Not a chunk: match this expression against the captured tables (an `expand`).
    var pattern: String? = nil
  }

  enum Action: Equatable {
    /// Read this chunk: low watermark, SELECT, high watermark with the rows.
    case read(ChunkRequest)
    /// Emit these rows of the chunk `header` closed, as `op: "r"` events, at its position.
    case emit(rows: [[PgOutputMessage.TupleValue]], header: WatermarkMessage)
    /// Something the user should see in the task's status (a table skipped, a bad signal).
    case warn(String)
    /// A step worth a log line.
    case log(String)
  }

  private(set) var state: State
  /// Closed only through ``closeWindow()``, which lets the slot go too.
  private(set) var window: IncrementalSnapshotWindow?
  /// The relation whose changes the open window collects, if any: every streamed change is
  /// checked against it. (Kept beside ``window`` rather than read from it: reading the optional
  /// window in the inlined stream loop crashed Swift 6.3.1's release optimiser, CopyPropagation
  /// "Found outside of lifetime use".)
  private(set) var watchedRelation: UInt32?
  /// While a window is open, the LSN the slot may be confirmed up to at most: the end of the
  /// last transaction before its low watermark, so that a replay sees the whole window again.
  private(set) var hold: LSN?
  /// Whether ``state`` changed since it was last stamped on a position.
  private(set) var unsaved = false
  /// The chunk asked of the reader last (in this run; not durable).
  private var requested: ChunkKey?
  let chunkSize: Int

  private struct ChunkKey: Equatable {
    var snapshot: UInt64
    var table: QualifiedName
    var pattern: String?
    var chunk: UInt32
  }

  /// Transactions committed at or before this LSN are never applied: a snapshot's progress
  /// says its stream starts after them (the signal of a blocking snapshot, whose positions
  /// carry no state while it reads).
  let floor: UInt64

  init(state: State, chunkSize: Int, floor: UInt64 = 0) {
    self.state = state
    self.chunkSize = chunkSize
    self.floor = floor
  }

  /// Closes the open window: a closed window holds the slot back no more.
  private mutating func closeWindow() {
    window = nil
    watchedRelation = nil
    hold = nil
  }

  /// Whether a snapshot is read (or paused), for the status.
  var isActive: Bool { state.running != nil }

  /// Streaming (re)starts: the chunk the state says is next is asked for. (A chunk written
  /// before a crash that the slot streams again is taken if it comes first; the one asked for
  /// now is then stale and ignored.)
  mutating func start() -> [Action] {
    requested = nil
    closeWindow()
    return request()
  }

  // MARK: - Signals

  /// A signal from the stream: `commitLSN` of its transaction, `lsn` where it sat.
  mutating func signal(_ signal: SnapshotSignal, commitLSN: LSN, at lsn: LSN) -> [Action] {
    guard isNew(commitLSN, lsn) else { return [] }
    advance(commitLSN, lsn)
    var actions: [Action] = []
    switch signal {
    case .execute(let execute) where execute.blocking:
      return blocking(execute, commitLSN: commitLSN, at: lsn)
    case .execute(let execute):
      let (id, listed) = (execute.id, execute.tables)
      if var running = state.running {
        let added = listed.filter { table in
          !running.tables.contains { $0.isSameEntry(as: table) }
        }
        running.tables += added
        state.running = running
        actions.append(
          .log(
            "execute-snapshot \(id): added \(added.map(\.description).joined(separator: ", ")) to the running incremental snapshot \(running.id)"
          ))
      } else {
        state.running = Running(id: id, snapshot: lsn.value, tables: listed)
        actions.append(
          .log(
            "incremental snapshot \(id) started: \(listed.map(\.description).joined(separator: ", "))"
          ))
      }
    case .stop(let id, let tables):
      guard var running = state.running else {
        return [.log("stop-snapshot \(id): no incremental snapshot is running")]
      }
      if let tables {
        let current = running.tables.first
        running.tables.removeAll { $0.isSelected(by: tables) }
        if running.tables.first != current { restartTable(&running) }
        state.running = running.tables.isEmpty ? nil : running
      } else {
        state.running = nil
      }
      if state.running == nil { closeWindow() }
      actions.append(.log("stop-snapshot \(id): incremental snapshot \(running.id) stopped"))
    case .pause(let id):
      state.running?.paused = true
      actions.append(.log("pause-snapshot \(id): incremental snapshot paused"))
    case .resume(let id):
      state.running?.paused = false
      actions.append(.log("resume-snapshot \(id): incremental snapshot resumed"))
    }
    return actions + request()
  }

  /// A blocking execute-snapshot: streaming is to stop after this transaction (the task
  /// reads ``State/blocking``). Not while an incremental snapshot runs: its chunk windows
  /// live in the stream, which the blocking read would stop under them.
  private mutating func blocking(_ execute: SnapshotSignal.Execute, commitLSN: LSN, at lsn: LSN)
    -> [Action]
  {
    if let running = state.running {
      return [
        .warn(
          "execute-snapshot \(execute.id) (blocking) was ignored: incremental snapshot \(running.id) is running; stop it (stop-snapshot) or let it finish, then send the signal again"
        )
      ]
    }
    if var blocking = state.blocking, blocking.commitLSN == commitLSN.value {
      // Two signals in one transaction: one read.
      blocking.tables += execute.tables.filter { table in
        !blocking.tables.contains { $0.isSameEntry(as: table) }
      }
      state.blocking = blocking
    } else {
      state.blocking = Blocking(id: execute.id, commitLSN: commitLSN.value, tables: execute.tables)
    }
    return [
      .log(
        "blocking snapshot \(execute.id): streaming stops after this transaction to read \(execute.tables.map(\.description).joined(separator: ", "))"
      )
    ]
  }

  /// The blocking snapshot is behind the stream now (begun, or left out): the state no longer
  /// asks for it.
  mutating func blockingTaken() {
    guard state.blocking != nil else { return }
    state.blocking = nil
    unsaved = true
  }

  /// A signal that could not be read: the user sees why.
  func refused(_ error: SignalError, commitLSN: LSN, at lsn: LSN) -> [Action] {
    guard isNew(commitLSN, lsn) else { return [] }
    return [.warn("a signal was ignored: \(error.description)")]
  }

  // MARK: - Watermarks and the table's changes

  /// A low watermark: the window of the chunk the state expects opens; `confirmable` is
  /// where the stream stood before the watermark's transaction.
  mutating func lowWatermark(_ message: WatermarkMessage, confirmable: LSN) {
    guard expects(message) else { return }
    window = IncrementalSnapshotWindow(
      snapshot: message.snapshot, table: message.table, chunk: message.chunk,
      attempt: message.attempt, relation: message.relation, keyColumns: message.key)
    watchedRelation = message.relation
    hold = confirmable
  }

  /// A change of the window's table: the keys it touched (nil: one it could not tell).
  mutating func changed(relation: UInt32, keys: [IncrementalSnapshotWindow.Key?]) {
    guard window?.relation == relation else { return }
    for key in keys { window?.changed(key) }
  }

  mutating func truncated(relations: [UInt32]) {
    if let relation = window?.relation, relations.contains(relation) { window?.truncate() }
  }

  /// A high watermark with its rows, in a transaction that committed at `commitLSN`.
  mutating func highWatermark(
    _ message: WatermarkMessage, rows: [[PgOutputMessage.TupleValue]], commitLSN: LSN,
    at lsn: LSN
  ) -> [Action] {
    guard let window, window.attempt == message.attempt else { return [] }
    closeWindow()
    guard isNew(commitLSN, lsn), expects(message), var running = state.running else {
      return []
    }
    let columns = message.columns ?? []
    let keyIndexes = message.key.compactMap { name in columns.firstIndex { $0.name == name } }
    guard keyIndexes.count == message.key.count,
      let kept = window.surviving(rows, keyIndexes: keyIndexes)
    else {
      // A change in the window whose key is unknown: this read proves nothing; read again.
      requested = nil
      return [.log("chunk \(message.chunk) of \(message.table) is read again")] + request()
    }
    advance(commitLSN, lsn)
    if running.chunk == 0 { running.maximum = message.maximum }
    running.chunk += 1
    running.after = message.last ?? running.after
    running.rows += UInt64(kept.count)
    var actions: [Action] = [.emit(rows: kept, header: message)]
    if let note = message.note {
      actions.append(.warn("incremental snapshot \(running.id): \(note)"))
    }
    if message.done == true {
      actions.append(
        .log("incremental snapshot \(running.id): \(message.table) read in \(running.chunk) chunks")
      )
      running.tables.removeFirst()
      restartTable(&running)
    }
    if running.tables.isEmpty {
      actions.append(
        .log("incremental snapshot \(running.id) completed: \(running.rows) rows"))
      state.running = nil
    } else {
      state.running = running
    }
    return actions + request()
  }

  /// A table the reader could not read: it is left out, and the user sees why.
  mutating func skipped(_ message: WatermarkMessage, commitLSN: LSN, at lsn: LSN) -> [Action] {
    guard isNew(commitLSN, lsn), expects(message), var running = state.running else {
      return []
    }
    advance(commitLSN, lsn)
    running.tables.removeFirst()
    restartTable(&running)
    state.running = running.tables.isEmpty ? nil : running
    if window?.table == message.table { closeWindow() }
    return [
      .warn(
        "incremental snapshot \(running.id): \(message.table) skipped: \(message.reason ?? "unknown reason")"
      )
    ] + request()
  }

  /// The tables a `data-collections` expression matched: they take its place, each with
  /// the first of its conditions that selects it. None is a warning, as a missing table is.
  mutating func expanded(_ message: WatermarkMessage, commitLSN: LSN, at lsn: LSN) -> [Action] {
    guard isNew(commitLSN, lsn), expects(message), var running = state.running,
      let entry = running.tables.first
    else { return [] }
    advance(commitLSN, lsn)
    let matched = (message.tables ?? []).filter { name in
      !running.tables.contains { $0.pattern == nil && $0.name == name }
    }
    running.tables.replaceSubrange(0..<1, with: entry.expanded(to: matched))
    restartTable(&running)
    state.running = running.tables.isEmpty ? nil : running
    var actions: [Action] = []
    if matched.isEmpty {
      let reason =
        (message.tables ?? []).isEmpty
        ? "matches no captured table" : "matches only tables the snapshot reads already"
      actions.append(.warn("incremental snapshot \(running.id): \(entry.description) \(reason)"))
    } else {
      actions.append(
        .log(
          "incremental snapshot \(running.id): \(entry.description) matches \(matched.map(\.description).joined(separator: ", "))"
        ))
    }
    if state.running == nil {
      actions.append(.log("incremental snapshot \(running.id) completed: \(running.rows) rows"))
    }
    return actions + request()
  }

  // MARK: - Durability

  /// The state as position text (`inc:` and base64 of its JSON), and marks it saved.
  mutating func stamp() -> String {
    unsaved = false
    return Self.encode(state)
  }

  static let marker = "inc:"

  static func encode(_ state: State) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return marker + ((try? encoder.encode(state)) ?? Data()).base64EncodedString()
  }

  /// The state a committed position carries; an empty one when it carries none.
  static func state(in position: SourcePosition?) -> State {
    guard let text = position?.text else { return State() }
    for part in text.split(separator: "|") where part.hasPrefix(marker) {
      if let data = Data(base64Encoded: String(part.dropFirst(marker.count))),
        let state = try? JSONDecoder().decode(State.self, from: data)
      {
        return state
      }
    }
    return State()
  }

  /// `position` with the state appended as a third `|` field (after the snapshot progress,
  /// empty when there is none), which the runtime does not compare.
  static func appending(_ stamp: String, to position: SourcePosition) -> SourcePosition {
    let fields = position.text.split(separator: "|", omittingEmptySubsequences: false).count
    return SourcePosition(
      position.text + String(repeating: "|", count: max(1, 3 - fields)) + stamp)
  }

  // MARK: - Internals

  /// Whether a message at `lsn` in a transaction committed at `commitLSN` is past what the
  /// state holds (the slot streams the same transactions again after a restart).
  func isNew(_ commitLSN: LSN, _ lsn: LSN) -> Bool {
    commitLSN.value > floor && (commitLSN.value, lsn.value) > (state.through, state.throughAt)
  }

  private mutating func advance(_ commitLSN: LSN, _ lsn: LSN) {
    state.through = commitLSN.value
    state.throughAt = lsn.value
    unsaved = true
  }

  private func expects(_ message: WatermarkMessage) -> Bool {
    guard let running = state.running, let table = running.tables.first,
      message.snapshot == running.snapshot, message.chunk == running.chunk
    else { return false }
    if message.kind == .expand { return table.pattern != nil && message.pattern == table.pattern }
    return table.pattern == nil && message.table == table.name
  }

  private mutating func restartTable(_ running: inout Running) {
    running.chunk = 0
    running.after = nil
    running.maximum = nil
    closeWindow()
  }

  private mutating func request() -> [Action] {
    guard let running = state.running, !running.paused, let table = running.tables.first else {
      return []
    }
    let key = ChunkKey(
      snapshot: running.snapshot, table: table.name, pattern: table.pattern, chunk: running.chunk)
    guard requested != key else { return [] }
    requested = key
    return [
      .read(
        ChunkRequest(
          snapshot: running.snapshot, table: table.name, filter: table.filter,
          chunk: running.chunk, after: running.after, maximum: running.maximum, size: chunkSize,
          surrogateKey: table.surrogateKey, pattern: table.pattern))
    ]
  }
}
