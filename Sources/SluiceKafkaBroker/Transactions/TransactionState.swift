import SluiceCore
import SluiceKafka
import SluiceLog

/// One transactional id's transaction as its coordinator sees it (Kafka's TransactionMetadata,
/// KIP-98): the producer id and epoch it gave the id, the phase of the current transaction, the
/// partitions and groups in it, and the offsets committed in it. A value: each request is a
/// `mutating func` that says what to answer or what to do next, and does no I/O, so every
/// transition is a unit test.
///
/// ```
/// Empty ──AddPartitions/AddOffsets──▶ Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
///                                        │ └───EndTxn(abort), timeout, InitProducerId──▶ PrepareAbort ──markers──▶ CompleteAbort
/// Complete* ──AddPartitions/AddOffsets──▶ Ongoing (the next transaction)
/// ```
struct TransactionState: Sendable, Equatable {
  enum Phase: String, Sendable, Codable {
    case empty = "Empty"
    case ongoing = "Ongoing"
    case prepareCommit = "PrepareCommit"
    case prepareAbort = "PrepareAbort"
    case completeCommit = "CompleteCommit"
    case completeAbort = "CompleteAbort"

    /// Markers are being written: the transaction is ending.
    var isEnding: Bool { self == .prepareCommit || self == .prepareAbort }
  }

  let transactionalID: String
  private(set) var producerID: Int64
  private(set) var epoch: Int16
  private(set) var timeoutMs: Int32
  private(set) var phase: Phase = .empty
  /// The partitions of the ongoing (or ending) transaction.
  private(set) var partitions: Set<TopicPartition> = []
  /// The groups whose offsets the transaction commits (AddOffsetsToTxn).
  private(set) var groups: Set<String> = []
  /// Offsets committed in the transaction (TxnOffsetCommit), per group: they become the
  /// groups' committed offsets only when the transaction commits.
  private(set) var pendingOffsets: [String: [TopicPartition: GroupOffsetStore.Committed]] = [:]
  /// When the transaction became ongoing (ms since 1970), for its timeout.
  private(set) var startedMs: Int64 = 0

  /// A new transactional id's state, before its first InitProducerId is answered.
  init(transactionalID: String, producerID: Int64, timeoutMs: Int32) {
    self.transactionalID = transactionalID
    self.producerID = producerID
    self.epoch = -1
    self.timeoutMs = timeoutMs
  }

  /// A state as it was stored.
  init(
    transactionalID: String, producerID: Int64, epoch: Int16, timeoutMs: Int32, phase: Phase,
    partitions: Set<TopicPartition>, groups: Set<String>,
    pendingOffsets: [String: [TopicPartition: GroupOffsetStore.Committed]], startedMs: Int64
  ) {
    self.transactionalID = transactionalID
    self.producerID = producerID
    self.epoch = epoch
    self.timeoutMs = timeoutMs
    self.phase = phase
    self.partitions = partitions
    self.groups = groups
    self.pendingOffsets = pendingOffsets
    self.startedMs = startedMs
  }

  // MARK: - Actions

  /// What the coordinator does for InitProducerId.
  enum InitAction: Sendable, Equatable {
    /// Answer with this id and epoch (store the state first).
    case answer(producerID: Int64, epoch: Int16)
    /// The previous epoch left a transaction open: it is now PrepareAbort under the new epoch;
    /// write abort markers to `partitions`, complete it (``markersWritten()``), then answer
    /// with the id and epoch.
    case abortThenAnswer(partitions: Set<TopicPartition>, producerID: Int64, epoch: Int16)
    /// Answer with this error.
    case fail(KafkaErrorCode)
  }

  /// What the coordinator does for EndTxn.
  enum EndAction: Sendable, Equatable {
    /// Answer at once with this error (`.none`: a retry of an end already done).
    case answer(KafkaErrorCode)
    /// Now PrepareCommit or PrepareAbort (store it): write `marker` to every partition of the
    /// transaction, then ``markersWritten()``, then answer.
    case writeMarkers(TransactionMarker, partitions: Set<TopicPartition>)
  }

  // MARK: - Events

  /// InitProducerId for this transactional id: a new epoch (fencing every older one), with the
  /// transaction the old epoch left open aborted. `spareProducerID` is used when the epoch is
  /// exhausted. `requested` is the producer's own id and epoch when it asks to bump them
  /// (KIP-360), -1/-1 otherwise.
  mutating func initProducer(
    timeoutMs: Int32, requestedProducerID: Int64, requestedEpoch: Int16, spareProducerID: Int64
  ) -> InitAction {
    if phase.isEnding { return .fail(.concurrentTransactions) }
    if requestedProducerID >= 0 {
      // A producer bumping its own epoch must still own this id.
      if requestedProducerID != producerID || requestedEpoch != epoch {
        return .fail(.producerFenced)
      }
    }
    self.timeoutMs = timeoutMs
    if phase == .ongoing {
      // The markers carry the producer id of the open transaction and the new epoch.
      _ = abortForRecovery()
      return .abortThenAnswer(partitions: partitions, producerID: producerID, epoch: epoch)
    }
    if epoch >= Int16.max - 1 {
      // Out of epochs: a new producer id, whose epochs start over.
      producerID = spareProducerID
      epoch = -1
    }
    epoch += 1
    phase = .empty
    clearTransaction()
    return .answer(producerID: producerID, epoch: epoch)
  }

  /// The error for a request of `producerID` at `epoch` to this transactional id, if any.
  func fencing(producerID: Int64, epoch: Int16) -> KafkaErrorCode? {
    if producerID != self.producerID { return .invalidProducerIDMapping }
    if epoch != self.epoch { return .producerFenced }
    return nil
  }

  /// AddPartitionsToTxn: the partitions join the transaction, which starts if none is ongoing.
  /// Returns the error for every partition (`.none` when added).
  mutating func addPartitions(
    _ added: [TopicPartition], producerID: Int64, epoch: Int16, nowMs: Int64
  ) -> KafkaErrorCode {
    if let error = fencing(producerID: producerID, epoch: epoch) { return error }
    if phase.isEnding { return .concurrentTransactions }
    beginIfNeeded(nowMs: nowMs)
    partitions.formUnion(added)
    return .none
  }

  /// AddOffsetsToTxn: the group's offsets will be committed with the transaction.
  mutating func addOffsets(group: String, producerID: Int64, epoch: Int16, nowMs: Int64)
    -> KafkaErrorCode
  {
    if let error = fencing(producerID: producerID, epoch: epoch) { return error }
    if phase.isEnding { return .concurrentTransactions }
    beginIfNeeded(nowMs: nowMs)
    groups.insert(group)
    return .none
  }

  /// TxnOffsetCommit: offsets held until the transaction ends.
  mutating func commitOffsets(
    _ offsets: [TopicPartition: GroupOffsetStore.Committed], group: String, producerID: Int64,
    epoch: Int16
  ) -> KafkaErrorCode {
    if let error = fencing(producerID: producerID, epoch: epoch) { return error }
    if phase.isEnding { return .concurrentTransactions }
    guard phase == .ongoing, groups.contains(group) else { return .invalidTxnState }
    pendingOffsets[group, default: [:]].merge(offsets) { _, new in new }
    return .none
  }

  /// Whether a transactional batch of `producerID` at `epoch` may be written to `partition`:
  /// only to a partition added to its ongoing transaction.
  func checkProduce(producerID: Int64, epoch: Int16, partition: TopicPartition) -> KafkaErrorCode {
    if producerID != self.producerID { return .invalidProducerIDMapping }
    if epoch != self.epoch { return .invalidProducerEpoch }
    guard phase == .ongoing, partitions.contains(partition) else { return .invalidTxnState }
    return .none
  }

  /// EndTxn: commit or abort the ongoing transaction.
  mutating func end(commit: Bool, producerID: Int64, epoch: Int16) -> EndAction {
    if let error = fencing(producerID: producerID, epoch: epoch) { return .answer(error) }
    switch phase {
    case .ongoing:
      phase = commit ? .prepareCommit : .prepareAbort
      if !commit { pendingOffsets = [:] }
      return .writeMarkers(commit ? .commit : .abort, partitions: partitions)
    case .prepareCommit, .prepareAbort:
      return .answer(.concurrentTransactions)
    case .completeCommit:
      return .answer(commit ? .none : .invalidTxnState)
    case .completeAbort:
      return .answer(commit ? .invalidTxnState : .none)
    case .empty:
      return .answer(.invalidTxnState)
    }
  }

  /// The markers of an ending transaction are durable in every partition: it is complete.
  /// Returns the offsets to commit to each group (only when it committed).
  mutating func markersWritten() -> [String: [TopicPartition: GroupOffsetStore.Committed]] {
    switch phase {
    case .prepareCommit:
      let offsets = pendingOffsets
      phase = .completeCommit
      clearTransaction()
      return offsets
    case .prepareAbort:
      phase = .completeAbort
      clearTransaction()
      return [:]
    default:
      return [:]
    }
  }

  /// The clock: an ongoing transaction older than its timeout is aborted under a new epoch
  /// (which fences the producer that left it). Returns the abort to carry out, if any.
  mutating func expire(nowMs: Int64) -> EndAction? {
    guard phase == .ongoing, nowMs - startedMs > Int64(timeoutMs) else { return nil }
    return abortForRecovery()
  }

  /// After a restart: an ongoing transaction is aborted under a new epoch (its producer's
  /// requests may have been lost with the process); an ending one is ended again (markers are
  /// idempotent). Returns what to carry out, if anything.
  mutating func recover() -> EndAction? {
    switch phase {
    case .ongoing: return abortForRecovery()
    case .prepareCommit: return .writeMarkers(.commit, partitions: partitions)
    case .prepareAbort: return .writeMarkers(.abort, partitions: partitions)
    default: return nil
    }
  }

  /// The epoch the markers of the ending transaction carry.
  var markerEpoch: Int16 { epoch }

  // MARK: - Helpers

  private mutating func abortForRecovery() -> EndAction {
    if epoch < Int16.max - 1 { epoch += 1 }
    phase = .prepareAbort
    pendingOffsets = [:]
    return .writeMarkers(.abort, partitions: partitions)
  }

  private mutating func beginIfNeeded(nowMs: Int64) {
    guard phase != .ongoing else { return }
    phase = .ongoing
    clearTransaction()
    startedMs = nowMs
  }

  private mutating func clearTransaction() {
    partitions = []
    groups = []
    pendingOffsets = [:]
  }
}
