/// How one source task's records and position reach a store: the seam exactly-once for sources
/// turns on (DESIGN.md §3 and §8).
///
/// A store without transactions (the embedded log) appends the records, and only once they are
/// durable commits the position to the worker's ``OffsetStore``
/// (``DurableAppendSession``); after a crash the runtime drops replayed records by the position
/// in their partition. A store with transactions (Kafka, KIP-618) writes the records and the
/// position in one transaction instead.
public protocol SourceSession: Sendable {
  /// Where the task resumes: the position committed last, by this session or an earlier one.
  func committedPosition() async throws -> SourcePosition?
  /// Appends each partition's records as one batch and returns each batch's base offset, in
  /// the order given; then commits `position` if there is one. Returns when the records are
  /// as durable as the store promises; the position may be written after it returns, but
  /// never before the records it covers are durable.
  func write(_ batches: [(TopicPartition, [OutgoingRecord])], committing position: SourcePosition?)
    async throws -> [Int64]
  /// ``write(_:committing:)`` for records a source encoded itself (``EncodedRecords``).
  func write(
    encoded batches: [(TopicPartition, EncodedRecords)],
    committing position: SourcePosition?
  ) async throws -> [Int64]
  /// Commits a position without records and returns when it is durable.
  func commit(_ position: SourcePosition) async throws
  /// Returns once every position committed so far is durable: a stopping task calls it before
  /// the next incarnation reads ``committedPosition()``.
  func flush() async throws
  /// The connector's own recent records, oldest first: those younger than `maxAge` before
  /// `nowMs` (a record timestamp, milliseconds since the epoch), at most the newest `maxCount`
  /// (``SourceTaskContext/recentlyWritten(maxAge:maxCount:)``).
  func recentlyWritten(maxAge: Duration?, maxCount: Int?, nowMs: Int64) async throws
    -> WrittenRecords
  /// Forgets the committed position, durably: ``committedPosition()`` returns nil afterwards
  /// (KIP-875 `DELETE …/offsets`, for a stopped connector).
  func resetPosition() async throws
}

extension SourceSession {
  /// Decodes the records and writes them: for a session whose store encodes its own batches.
  public func write(
    encoded batches: [(TopicPartition, EncodedRecords)],
    committing position: SourcePosition?
  ) async throws -> [Int64] {
    var decoded: [(TopicPartition, [OutgoingRecord])] = []
    for (tp, records) in batches { decoded.append((tp, try records.decoded())) }
    return try await write(decoded, committing: position)
  }

  public func resetPosition() async throws {
    throw OffsetStoreError(message: "this store cannot forget a source position")
  }
}

extension TopicStore {
  /// A store without transactions: records first, then the position (``DurableAppendSession``).
  public func makeSourceSession(connector: String, task: Int, offsets: any OffsetStore)
    async throws -> any SourceSession
  {
    DurableAppendSession(store: self, offsets: offsets, connector: connector)
  }
}

/// The ``SourceSession`` of a store without transactions: appends every partition's batch at
/// once, then writes the position in the background (``PositionCommitter``), so a send waits
/// for its records' fsync but not for the offsets file's: a crash may leave the committed
/// position a few sends behind, which the replay rule makes safe.
public struct DurableAppendSession: SourceSession {
  let store: any TopicStore
  let offsets: any OffsetStore
  let connector: String
  private let committer: PositionCommitter

  public init(store: any TopicStore, offsets: any OffsetStore, connector: String) {
    self.store = store
    self.offsets = offsets
    self.connector = connector
    committer = PositionCommitter(offsets: offsets, connector: connector)
  }

  public func committedPosition() async throws -> SourcePosition? {
    try await offsets.sourcePosition(connector: connector)
  }

  public func write(
    _ batches: [(TopicPartition, [OutgoingRecord])], committing position: SourcePosition?
  ) async throws -> [Int64] {
    let bases = try await store.append(batches)
    if let position { try await committer.schedule(position) }
    return bases
  }

  public func write(
    encoded batches: [(TopicPartition, EncodedRecords)],
    committing position: SourcePosition?
  ) async throws -> [Int64] {
    let bases = try await store.append(encoded: batches)
    if let position { try await committer.schedule(position) }
    return bases
  }

  public func commit(_ position: SourcePosition) async throws {
    try await committer.schedule(position)
    try await committer.flush()
  }

  public func flush() async throws { try await committer.flush() }

  public func resetPosition() async throws {
    try await committer.flush()
    try await offsets.clearSourcePosition(connector: connector)
  }

  /// Read back from the tails of the store's partitions (``SourceHistory``).
  public func recentlyWritten(maxAge: Duration?, maxCount: Int?, nowMs: Int64) async throws
    -> WrittenRecords
  {
    try await SourceHistory(store: store, connector: connector).recent(
      maxAge: maxAge, maxCount: maxCount, nowMs: nowMs)
  }
}

/// Writes committed positions one at a time, always the newest scheduled one: a send does not
/// wait for the offsets file, and the file never goes back to an older position. A failed write
/// is thrown by the next ``schedule(_:)`` or ``flush()``.
actor PositionCommitter {
  private let offsets: any OffsetStore
  private let connector: String
  private var pending: SourcePosition?
  private var writing: Task<Void, Never>?
  private var failure: (any Error)?

  init(offsets: any OffsetStore, connector: String) {
    self.offsets = offsets
    self.connector = connector
  }

  func schedule(_ position: SourcePosition) throws {
    if let failure {
      self.failure = nil
      throw failure
    }
    pending = position
    if writing == nil { writing = Task { await self.drain() } }
  }

  func flush() async throws {
    while let writing { await writing.value }
    if let failure {
      self.failure = nil
      throw failure
    }
  }

  private func drain() async {
    while let next = pending {
      pending = nil
      do {
        try await offsets.commitSourcePosition(next, connector: connector)
      } catch {
        failure = error
      }
    }
    writing = nil
  }
}
