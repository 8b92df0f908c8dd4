import Foundation
import SluiceCore
import SluiceLog
import Synchronization

/// The broker's idempotent producers: hands out producer ids and epochs (InitProducerId) and
/// keeps each partition's ``PartitionProducers``, rebuilt from the log the first time a
/// partition is produced to after a start.
///
/// A batch's sequence is checked and marked in flight before it is appended, and its offsets
/// are filled in once it is durable, so two requests of one producer (a retry on a new
/// connection while the first is still being written) cannot both be stored.
final class ProducerRegistry: Sendable {
  /// How much of a partition's tail is read to rebuild its producers after a restart: far more
  /// than the five batches per producer that can be in flight.
  static let recoveryWindow: Int64 = 16 << 20

  private struct State {
    var nextID: Int64
    var epochs: [Int64: Int16] = [:]
    var partitions: [TopicPartition: PartitionProducers] = [:]
  }

  private let state: Mutex<State>

  init(now: Date = Date()) {
    // Ids grow with the clock, so one handed out after a restart is never one an earlier run
    // gave (whose batches the log still holds).
    state = Mutex(State(nextID: Int64(now.timeIntervalSince1970 * 1000) << 8))
  }

  /// A new producer id with epoch 0, or — when a producer asks again with its id and current
  /// epoch (KIP-360) — the same id with the next epoch, which fences the older one.
  func initProducer(id: Int64, epoch: Int16) -> (id: Int64, epoch: Int16) {
    state.withLock { s in
      if id >= 0, let current = s.epochs[id], current == epoch, epoch < Int16.max {
        s.epochs[id] = epoch + 1
        return (id, epoch + 1)
      }
      let fresh = s.nextID
      s.nextID += 1
      s.epochs[fresh] = 0
      return (fresh, 0)
    }
  }

  /// A producer id never handed out before, for a transactional id's first InitProducerId.
  func newProducerID() -> Int64 {
    state.withLock { s in
      defer { s.nextID += 1 }
      return s.nextID
    }
  }

  /// Decides on a batch for `partition`, loading the partition's producers with `recover`
  /// first if needed; an `.append` is marked in flight until ``stored(_:in:at:)`` or
  /// ``failed(_:in:)``.
  func decide(
    _ batch: ProducedBatch, in partition: TopicPartition,
    recover: () throws -> [StoredBatchInfo]
  ) rethrows -> PartitionProducers.Decision {
    guard batch.producerID >= 0 else { return .append }
    if state.withLock({ $0.partitions[partition] == nil }) {
      let rebuilt = PartitionProducers(rebuiltFrom: try recover())
      state.withLock { s in
        if s.partitions[partition] == nil {
          s.partitions[partition] = rebuilt
          for (id, producer) in rebuilt.producers where (s.epochs[id] ?? -1) < producer.epoch {
            s.epochs[id] = producer.epoch
          }
        }
      }
    }
    return state.withLock { s in
      var producers = s.partitions[partition]!
      let decision = producers.decide(
        producerID: batch.producerID, epoch: batch.producerEpoch,
        firstSequence: batch.baseSequence, lastSequence: batch.lastSequence)
      if decision == .append {
        producers.stored(
          producerID: batch.producerID, epoch: batch.producerEpoch,
          firstSequence: batch.baseSequence, lastSequence: batch.lastSequence,
          firstOffset: PartitionProducers.inFlight, lastOffset: PartitionProducers.inFlight)
        if (s.epochs[batch.producerID] ?? -1) < batch.producerEpoch {
          s.epochs[batch.producerID] = batch.producerEpoch
        }
      }
      s.partitions[partition] = producers
      return decision
    }
  }

  /// The batch marked in flight is durable at `firstOffset`.
  func stored(_ batch: ProducedBatch, in partition: TopicPartition, at firstOffset: Int64) {
    guard batch.producerID >= 0 else { return }
    state.withLock { s in
      s.partitions[partition]?.resolveInFlight(
        producerID: batch.producerID, firstSequence: batch.baseSequence,
        firstOffset: firstOffset, lastOffset: firstOffset + Int64(batch.recordCount) - 1)
    }
  }

  /// The batch marked in flight was not stored: forget it, so a retry is appended.
  func failed(_ batch: ProducedBatch, in partition: TopicPartition) {
    guard batch.producerID >= 0 else { return }
    state.withLock { s in
      s.partitions[partition]?.dropInFlight(
        producerID: batch.producerID, firstSequence: batch.baseSequence)
    }
  }

  /// Forgets a deleted topic's producers.
  func forget(topic: String) {
    state.withLock { s in s.partitions = s.partitions.filter { $0.key.topic != topic } }
  }
}
