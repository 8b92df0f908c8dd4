import Foundation
import Logging
import SluiceCore
import SluiceKafka
import SluiceLog

/// The broker's transaction coordinator (KIP-98, one node): each transactional id's
/// ``TransactionState``, stored in the data dir (``TransactionStateStore``) before a request
/// that changed it is answered, and the side effects the state machine asks for: transaction
/// markers written to every partition of an ending transaction, durably, before EndTxn is
/// answered; the transaction's offsets committed to their groups; transactions past their
/// timeout aborted; and after a restart, every transaction left open aborted and every one
/// left ending ended (``run()``).
actor TransactionCoordinator {
  private var states: [String: TransactionState] = [:]
  /// Producer id -> transactional id, for Produce.
  private var owners: [Int64: String] = [:]
  /// Transactional batches being appended, per producer id: an ending transaction's markers
  /// are written only after them, so no batch of it lands after its marker.
  private var appending: [Int64: Int] = [:]
  /// Transactional ids whose markers are being written: marked before the first suspension
  /// of the request that ends the transaction, so that nothing else ends it twice.
  private var ending: Set<String> = []
  /// Transactional ids whose markers could not all be written: the clock tries again.
  private var unfinished: Set<String> = []
  private let files: TransactionStateStore
  private let store: EmbeddedTopicStore
  private let groups: GroupCoordinator
  private let producers: ProducerRegistry
  private let logger: Logger
  /// The largest transaction timeout a producer may ask for (Kafka's
  /// `transaction.max.timeout.ms`, 15 minutes).
  static let maxTimeoutMs: Int32 = 900_000

  init(
    directory: String, store: EmbeddedTopicStore, groups: GroupCoordinator,
    producers: ProducerRegistry, logger: Logger
  ) throws {
    files = try TransactionStateStore(folder: directory)
    self.store = store
    self.groups = groups
    self.producers = producers
    self.logger = logger
    for state in try files.load() {
      states[state.transactionalID] = state
      owners[state.producerID] = state.transactionalID
    }
  }

  /// Ends what a previous run left open or ending, then aborts transactions past their
  /// timeout (and retries markers that could not be written) every second until cancelled.
  func run() async {
    // Each id is checked just before it is ended: a producer may have ended it meanwhile.
    for id in states.keys.sorted() where !ending.contains(id) {
      guard let action = states[id]!.recover() else { continue }
      logger.info(
        "transaction left by the previous run ended",
        metadata: ["transactional_id": "\(id)", "action": "\(action)"])
      ending.insert(id)
      _ = await carryOut(action, for: id)
    }
    while !Task.isCancelled {
      try? await Task.sleep(for: .seconds(1))
      let now = currentTimeMillis()
      for id in Array(states.keys) where !ending.contains(id) {
        if let action = states[id]!.expire(nowMs: now) {
          logger.info(
            "transaction aborted: past its timeout", metadata: ["transactional_id": "\(id)"])
          ending.insert(id)
          _ = await carryOut(action, for: id)
        } else if unfinished.contains(id), let action = states[id]!.recover() {
          ending.insert(id)
          _ = await carryOut(action, for: id)
        }
      }
    }
  }

  // MARK: - Requests

  func initProducer(
    transactionalID id: String, timeoutMs: Int32, producerID: Int64, epoch: Int16
  ) async -> (KafkaErrorCode, Int64, Int16) {
    guard timeoutMs > 0, timeoutMs <= Self.maxTimeoutMs else {
      return (.invalidTransactionTimeout, -1, -1)
    }
    if ending.contains(id) { return (.concurrentTransactions, -1, -1) }
    var state =
      states[id]
      ?? TransactionState(
        transactionalID: id, producerID: producers.newProducerID(), timeoutMs: timeoutMs)
    let action = state.initProducer(
      timeoutMs: timeoutMs, requestedProducerID: producerID, requestedEpoch: epoch,
      spareProducerID: producers.newProducerID())
    switch action {
    case .fail(let error):
      return (error, -1, -1)
    case .answer(let pid, let newEpoch):
      guard await save(state) else { return (.kafkaStorageError, -1, -1) }
      return (.none, pid, newEpoch)
    case .abortThenAnswer(let partitions, let pid, let newEpoch):
      logger.info(
        "transaction of an older epoch aborted",
        metadata: ["transactional_id": "\(id)", "epoch": "\(newEpoch)"])
      ending.insert(id)
      guard await save(state) else {
        stillEnding(id)
        return (.kafkaStorageError, -1, -1)
      }
      let error = await carryOut(.writeMarkers(.abort, partitions: partitions), for: id)
      // The client retries: the next InitProducerId finds the abort complete.
      return error == .none ? (.none, pid, newEpoch) : (.concurrentTransactions, -1, -1)
    }
  }

  func addPartitions(
    transactionalID id: String, producerID: Int64, epoch: Int16, partitions: [TopicPartition]
  ) async -> KafkaErrorCode {
    guard var state = states[id] else { return .invalidProducerIDMapping }
    let before = state
    let error = state.addPartitions(
      partitions, producerID: producerID, epoch: epoch, nowMs: currentTimeMillis())
    guard error == .none else { return error }
    if state != before { guard await save(state) else { return .kafkaStorageError } }
    return .none
  }

  func addOffsets(transactionalID id: String, producerID: Int64, epoch: Int16, group: String)
    async -> KafkaErrorCode
  {
    guard var state = states[id] else { return .invalidProducerIDMapping }
    let before = state
    let error = state.addOffsets(
      group: group, producerID: producerID, epoch: epoch, nowMs: currentTimeMillis())
    guard error == .none else { return error }
    if state != before { guard await save(state) else { return .kafkaStorageError } }
    return .none
  }

  /// TxnOffsetCommit: held in memory until the transaction ends (they are stored with its
  /// PrepareCommit state, so a commit completed after a restart still commits them).
  func commitOffsets(
    transactionalID id: String, producerID: Int64, epoch: Int16, group: String,
    offsets: [TopicPartition: GroupOffsetStore.Committed]
  ) -> KafkaErrorCode {
    guard var state = states[id] else { return .invalidProducerIDMapping }
    let error = state.commitOffsets(offsets, group: group, producerID: producerID, epoch: epoch)
    if error == .none { states[id] = state }
    return error
  }

  func end(transactionalID id: String, producerID: Int64, epoch: Int16, commit: Bool) async
    -> KafkaErrorCode
  {
    guard var state = states[id] else { return .invalidProducerIDMapping }
    let action = state.end(commit: commit, producerID: producerID, epoch: epoch)
    if case .answer(let error) = action { return error }
    ending.insert(id)
    guard await save(state) else {
      stillEnding(id)
      return .kafkaStorageError
    }
    return await carryOut(action, for: id)
  }

  /// The partitions with an offset of `group` pending in a transaction that has not ended.
  func pendingOffsets(group: String) -> Set<TopicPartition> {
    var out: Set<TopicPartition> = []
    for state in states.values where state.phase == .ongoing || state.phase == .prepareCommit {
      if let offsets = state.pendingOffsets[group] { out.formUnion(offsets.keys) }
    }
    return out
  }

  // MARK: - Produce

  /// Checks a transactional batch of `producerID` at `epoch` for `partition` and, when it may
  /// be written, counts it as being appended until ``appended(producerID:)``.
  func beginAppend(producerID: Int64, epoch: Int16, partition: TopicPartition) -> KafkaErrorCode {
    guard let id = owners[producerID], let state = states[id] else {
      return .invalidProducerIDMapping
    }
    let error = state.checkProduce(producerID: producerID, epoch: epoch, partition: partition)
    if error == .none { appending[producerID, default: 0] += 1 }
    return error
  }

  func appended(producerID: Int64) {
    appending[producerID, default: 1] -= 1
    if appending[producerID] == 0 { appending[producerID] = nil }
  }

  // MARK: - Carrying out

  /// An ending transaction that could not be ended now: the clock tries again.
  private func stillEnding(_ id: String) {
    ending.remove(id)
    unfinished.insert(id)
  }

  /// Writes the markers of an ending transaction to all its partitions, commits its offsets,
  /// completes it and stores that; the error for the EndTxn that asked, if any (the state
  /// stays ending, retried by the clock, when a marker could not be written). The caller has
  /// put `id` in ``ending``; it is taken out here.
  private func carryOut(_ action: TransactionState.EndAction, for id: String) async
    -> KafkaErrorCode
  {
    guard case .writeMarkers(let marker, let partitions) = action, let state = states[id] else {
      ending.remove(id)
      return .none
    }
    var finished = false
    defer {
      if finished {
        ending.remove(id)
        unfinished.remove(id)
      } else {
        stillEnding(id)
      }
    }
    // Batches of this transaction still being appended go first.
    let patience = ContinuousClock.now + .seconds(30)
    while appending[state.producerID] != nil && ContinuousClock.now < patience {
      try? await Task.sleep(for: .milliseconds(2))
    }
    let batch = marker.batch(
      producerID: state.producerID, producerEpoch: state.markerEpoch, coordinatorEpoch: 0,
      timestamp: currentTimeMillis())
    let store = self.store
    let failed = await withTaskGroup(of: Bool.self) { group in
      for partition in partitions {
        group.addTask {
          do {
            _ = try await store.append(batch, to: partition)
            return false
          } catch TopicStoreError.unknownTopic, TopicStoreError.unknownPartition {
            return false  // deleted with its records
          } catch {
            return true
          }
        }
      }
      return await group.reduce(false) { $0 || $1 }
    }
    if failed {
      logger.warning(
        "transaction markers not all written; retrying", metadata: ["transactional_id": "\(id)"])
      return .kafkaStorageError
    }
    // The offsets first: the transaction is complete only once they are committed too (a
    // retry commits them again, which is harmless).
    var done = states[id]!
    let offsets = done.markersWritten()
    for (group, committed) in offsets {
      guard await groups.commitTransactional(committed, group: group) else {
        return .kafkaStorageError
      }
    }
    guard await save(done) else { return .kafkaStorageError }
    finished = true
    logger.debug(
      "transaction ended",
      metadata: [
        "transactional_id": "\(id)", "marker": "\(marker)", "partitions": "\(partitions.count)",
      ])
    return .none
  }

  /// Makes `state` current at once (a request for the same id that comes while it is being
  /// written sees it) and stores it; false if it could not be stored.
  private func save(_ state: TransactionState) async -> Bool {
    states[state.transactionalID] = state
    owners[state.producerID] = state.transactionalID
    do {
      // The writes go through one serial queue in the order they were asked for.
      try await files.save(state)
      return true
    } catch {
      logger.error(
        "cannot store transaction state",
        metadata: ["transactional_id": "\(state.transactionalID)", "error": "\(error)"])
      return false
    }
  }
}
