/// A producer's life as a value: its id and epoch, a sequence number per partition, and for a
/// transactional producer the transaction's state and the partitions and groups in it. It does
/// no I/O: ``KafkaProducer`` asks it what is allowed and what to send, and tells it what the
/// broker answered.
public struct ProducerStateMachine: Sendable, Equatable {
  /// Where the producer is.
  public enum State: Sendable, Equatable {
    /// InitProducerId not sent yet.
    case uninitialized
    /// InitProducerId in flight.
    case initializing
    /// Ready to write (idempotent) or to begin a transaction (transactional).
    case ready
    /// A transaction is open.
    case inTransaction
    /// A write in the open transaction failed: only an abort is allowed.
    case abortableError(String)
    /// EndTxn (commit or abort) in flight.
    case endingTransaction(commit: Bool)
    /// A newer producer with the same transactional id took over; nothing more is allowed.
    case fenced
    /// An unrecoverable error; the producer must be initialized again.
    case failed(String)
    /// Closed by its owner.
    case closed
  }

  /// What ending a transaction takes.
  public enum EndAction: Sendable, Equatable {
    /// Send EndTxn with this outcome.
    case sendEndTxn(commit: Bool)
    /// Nothing was written in the transaction: it ends without a request.
    case complete
  }

  /// The current state.
  public private(set) var state = State.uninitialized
  /// Whether the producer has a transactional id.
  public let isTransactional: Bool
  /// The producer id from InitProducerId (-1 before).
  public private(set) var producerId: Int64 = -1
  /// The producer epoch from InitProducerId (-1 before).
  public private(set) var producerEpoch: Int16 = -1
  /// The next sequence number per partition.
  public private(set) var sequences: [KafkaTopicPartition: Int32] = [:]
  /// Partitions added to the open transaction.
  public private(set) var partitionsInTransaction: Set<KafkaTopicPartition> = []
  /// Consumer groups whose offsets were added to the open transaction.
  public private(set) var groupsInTransaction: Set<String> = []

  /// A producer, transactional or only idempotent.
  public init(transactional: Bool) {
    isTransactional = transactional
  }

  private func invalid(_ what: String) -> KafkaClientError {
    switch state {
    case .fenced:
      return KafkaClientError(.fenced, "\(what): the producer was fenced by a newer instance")
    case .closed: return KafkaClientError(.closed, "\(what): the producer is closed")
    default: return KafkaClientError(.invalidState, "\(what) is not allowed in state \(state)")
    }
  }

  // MARK: - Initialization

  /// InitProducerId is about to be sent (at start, or after a failure).
  public mutating func initializing() throws {
    switch state {
    case .uninitialized, .failed, .ready: state = .initializing
    default: throw invalid("initialization")
    }
  }

  /// InitProducerId answered: a new id/epoch, and every sequence starts again at 0.
  public mutating func initialized(producerId: Int64, epoch: Int16) {
    self.producerId = producerId
    producerEpoch = epoch
    sequences = [:]
    partitionsInTransaction = []
    groupsInTransaction = []
    state = .ready
  }

  // MARK: - Transactions

  /// Opens a transaction.
  public mutating func beginTransaction() throws {
    guard isTransactional else { throw invalid("beginTransaction without a transactional id") }
    guard state == .ready else { throw invalid("beginTransaction") }
    partitionsInTransaction = []
    groupsInTransaction = []
    state = .inTransaction
  }

  /// Of `partitions` about to be written, those still to be added with AddPartitionsToTxn
  /// (none for an idempotent producer). Throws if a write is not allowed now.
  public func partitionsToAdd(_ partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition] {
    if isTransactional {
      guard state == .inTransaction else { throw invalid("a write outside a transaction") }
      return Array(Set(partitions).subtracting(partitionsInTransaction)).sorted()
    }
    guard state == .ready else { throw invalid("a write") }
    return []
  }

  /// AddPartitionsToTxn succeeded for `partitions`.
  public mutating func partitionsAdded(_ partitions: [KafkaTopicPartition]) {
    partitionsInTransaction.formUnion(partitions)
  }

  /// AddOffsetsToTxn succeeded for `group`.
  public mutating func groupAdded(_ group: String) throws {
    guard state == .inTransaction else { throw invalid("sendOffsetsToTransaction") }
    groupsInTransaction.insert(group)
  }

  /// Checks that offsets may be sent to the transaction now.
  public func checkCanAddOffsets() throws {
    guard isTransactional, state == .inTransaction else {
      throw invalid("sendOffsetsToTransaction")
    }
  }

  /// The base sequence for a batch of `count` records to `partition`, reserving them.
  public mutating func reserveSequence(for partition: KafkaTopicPartition, count: Int) throws -> Int32 {
    _ = try partitionsToAdd([])
    if isTransactional && !partitionsInTransaction.contains(partition) {
      throw invalid("a write to \(partition) before AddPartitionsToTxn")
    }
    let base = sequences[partition, default: 0]
    // Sequences wrap to 0 after Int32.max, as Kafka's do.
    let next = Int64(base) + Int64(count)
    sequences[partition] =
      next > Int64(Int32.max) ? Int32(next - Int64(Int32.max) - 1) : Int32(next)
    return base
  }

  /// A write failed for good (not retriable): a transaction can then only be aborted; an
  /// idempotent producer must be initialized again (its sequences are in doubt).
  public mutating func writeFailed(_ reason: String) {
    switch state {
    case .inTransaction: state = .abortableError(reason)
    case .ready: state = .failed(reason)
    default: break
    }
  }

  /// Ends the open transaction: what to send.
  public mutating func endTransaction(commit: Bool) throws -> EndAction {
    switch state {
    case .inTransaction: break
    case .abortableError(let reason):
      if commit {
        throw KafkaClientError(.invalidState, "cannot commit: a write failed (\(reason)); abort")
      }
    case .endingTransaction(let pending) where pending == commit: break
    default: throw invalid(commit ? "commitTransaction" : "abortTransaction")
    }
    if partitionsInTransaction.isEmpty && groupsInTransaction.isEmpty {
      state = .ready
      return .complete
    }
    state = .endingTransaction(commit: commit)
    return .sendEndTxn(commit: commit)
  }

  /// EndTxn succeeded: ready for the next transaction.
  public mutating func transactionEnded() {
    partitionsInTransaction = []
    groupsInTransaction = []
    state = .ready
  }

  // MARK: - Failures

  /// The broker said PRODUCER_FENCED or INVALID_PRODUCER_EPOCH.
  public mutating func fenced() {
    state = .fenced
  }

  /// Initialization or EndTxn failed for good.
  public mutating func failed(_ reason: String) {
    if state != .fenced { state = .failed(reason) }
  }

  /// Closed by its owner.
  public mutating func close() {
    state = .closed
  }
}
