import SluiceCore

/// Rows of one part that a snapshot reader encoded, on their way to the writer: as records
/// (`records`, when transforms may change them) or already in Kafka's format (`pieces`).
struct SnapshotBatch: Sendable {
  var part: Int
  /// The `r` events to write, without positions yet (the writer numbers them).
  var records: [SourceRecord] = []
  /// Per record, the key its position names: the Debezium key JSON (the record's own key
  /// bytes, not a copy), or a keyless row's ctid.
  var keys: [[UInt8]] = []
  /// The events in Kafka's format, one piece per partition they go to, in partition order,
  /// and their topic.
  var pieces: [Piece] = []
  var topic = ""
  /// Events in `pieces`.
  var encodedCount = 0
  /// Rows read, the skipped ones included.
  var rows = 0
  /// Rows an ended segment already wrote.
  var skipped = 0

  /// One partition's events of an encoded batch: an ``EncodedSend`` but for its position.
  struct Piece: Sendable {
    var partition: Int
    /// Every event but the last.
    var records: EncodedRecords
    var last: OutgoingRecord
    /// The key the last event's position names, and the event's place in the batch.
    var lastKey: [UInt8]
    var lastIndex: Int
  }

  /// Events to write.
  var count: Int { pieces.isEmpty ? records.count : encodedCount }

  /// The key the batch's last event's position names.
  var lastKey: [UInt8]? {
    pieces.isEmpty ? keys.last : pieces.first { $0.lastIndex == encodedCount - 1 }?.lastKey
  }
}

/// Between the snapshot's readers and its one writer: the parts left to read, handed out in
/// order, and the batches read, at most `capacity` waiting, so memory stays bounded however
/// slowly the topics take them. A reader that finds no room waits; the writer waits for a
/// batch until every reader has ended. The first reader error ends the hand-off and is what
/// the writer's next take throws.
actor SnapshotHandOff {
  /// What a reader hands over.
  enum Item: Sendable {
    case batch(SnapshotBatch)
    /// Every row of the part is in batches handed over before this.
    case finished(part: Int)

    var part: Int {
      switch self {
      case .batch(let batch): batch.part
      case .finished(let part): part
      }
    }
  }

  /// A part a reader is to read, from after `after` (nil: its start), skipping rows that an
  /// ended segment owns (``SnapshotProgress/boundaryKeys(inPart:)``).
  struct Work: Sendable {
    var part: Int
    var after: String?
    var boundaries: [String]
  }

  private let capacity: Int
  private var work: [Work]
  private var nextWork = 0
  private var items: [Item] = []
  private var readers: Int
  private var failure: (any Error)?
  private var stopped = false
  private var waitingReaders: [CheckedContinuation<Void, Never>] = []
  private var waitingWriter: CheckedContinuation<Void, Never>?
  /// The part of the item the writer took last while it is still being read (see
  /// ``take(maxRecords:)``).
  private var lastPart: Int?

  init(work: [Work], readers: Int, capacity: Int) {
    self.work = work
    self.readers = readers
    self.capacity = max(1, capacity)
  }

  /// The next part for a reader; nil when none is left or the hand-off ended.
  func next() -> Work? {
    guard !stopped, nextWork < work.count else { return nil }
    defer { nextWork += 1 }
    return work[nextWork]
  }

  /// Hands `item` to the writer, waiting while `capacity` items wait. Throws once the
  /// hand-off ended.
  func put(_ item: Item) async throws {
    while items.count >= capacity && !stopped {
      await withCheckedContinuation { waitingReaders.append($0) }
    }
    if stopped { throw CancellationError() }
    items.append(item)
    wakeWriter()
  }

  /// A reader is done (with `error` when it failed).
  func readerEnded(_ error: (any Error)?) {
    readers -= 1
    if let error, failure == nil, !(error is CancellationError) || !stopped {
      failure = error
      stop()
    }
    wakeWriter()
  }

  /// The next item for the writer: a batch merged with the batches of the same part that wait
  /// behind it, up to `maxRecords` records; nil once every reader ended and nothing waits.
  ///
  /// The writer stays with the part it took last until that part is finished or the hand-off
  /// is full: with nothing of it waiting, it waits for its reader rather than take another
  /// part's batch. Each change of part waits for the last send's position to be durable
  /// (``InitialSnapshot``), so changing at every batch would cost a flush per batch; changing
  /// when the hand-off is full takes the other parts' waiting batches in a row. Only a part's
  /// own batches merge into larger sends.
  func take(maxRecords: Int) async throws -> Item? {
    while true {
      if let failure { throw failure }
      if let item = takeReady(maxRecords: maxRecords) {
        wakeReaders()
        return item
      }
      if readers == 0 && items.isEmpty { return nil }
      await withCheckedContinuation { waitingWriter = $0 }
    }
  }

  /// What the writer may take now (``take(maxRecords:)``), nil when it is to wait.
  private func takeReady(maxRecords: Int) -> Item? {
    guard !items.isEmpty else { return nil }
    let next: Int
    if let lastPart, let index = items.firstIndex(where: { $0.part == lastPart }) {
      next = index
    } else if lastPart != nil && readers > 0 && items.count < capacity && !stopped {
      return nil
    } else {
      next = 0
    }
    // Bound straight from `remove(at:)`, so the merge appends to arrays no other value
    // shares (appending to a shared one first copies it, retaining every record's bytes).
    switch items.remove(at: next) {
    case .finished(let part):
      lastPart = nil
      return .finished(part: part)
    case .batch(var batch):
      lastPart = batch.part
      var index = 0
      // A keyless part's batches each go to one partition of their own, and encoded ones
      // number their records from their first: never merged.
      let mergeable = batch.pieces.isEmpty && batch.records.first?.partition == nil
      while mergeable && index < items.count && batch.records.count < maxRecords {
        switch items[index] {
        case .finished(let part) where part == batch.part:
          index = items.count
        case .batch(let part) where part.part == batch.part:
          guard case .batch(var more) = items.remove(at: index) else { continue }
          batch.records.append(movingFrom: &more.records)
          batch.keys.append(movingFrom: &more.keys)
          batch.rows += more.rows
          batch.skipped += more.skipped
        default:
          index += 1
        }
      }
      return .batch(batch)
    }
  }

  /// Ends the hand-off: waiting readers throw, no more parts are handed out.
  func stop() {
    stopped = true
    wakeReaders()
    wakeWriter()
  }

  private func wakeWriter() {
    let writer = waitingWriter
    waitingWriter = nil
    writer?.resume()
  }

  private func wakeReaders() {
    let waiting = waitingReaders
    waitingReaders = []
    for reader in waiting { reader.resume() }
  }
}

extension Array {
  /// Appends the elements of `other`, moving them out of it (it ends empty). `+=` copies each
  /// element, which retains everything a record holds here and releases it again with
  /// `other`: for records written on another thread, each of those is a cache miss.
  fileprivate mutating func append(movingFrom other: inout [Element]) {
    guard !isEmpty else {
      swap(&self, &other)
      return
    }
    reserveCapacity(count + other.count)
    // Reversed in place (swaps move), then popped from the end: each element moves twice.
    other.reverse()
    while let element = other.popLast() { append(element) }
  }
}
