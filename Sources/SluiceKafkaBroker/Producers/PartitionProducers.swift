import SluiceLog

/// What one partition knows of its idempotent producers: each one's epoch and its last few
/// batches, so that a retried batch is answered with its first offset instead of being stored
/// twice, a gap in the sequence is refused, and an older epoch is fenced (Kafka's
/// ProducerStateManager, as a value: no I/O, every transition a unit test).
///
/// Rebuilt after a restart from the producer fields of the partition's recent batches, which
/// the log keeps as they came.
struct PartitionProducers: Sendable, Equatable {
  /// How many batches per producer are remembered: Kafka's limit on in-flight requests per
  /// connection with idempotence on.
  static let rememberedBatches = 5

  struct Batch: Sendable, Equatable {
    var firstSequence: Int32
    var lastSequence: Int32
    var firstOffset: Int64
    var lastOffset: Int64
  }

  struct Producer: Sendable, Equatable {
    var epoch: Int16
    /// Oldest first, at most ``PartitionProducers/rememberedBatches``.
    var batches: [Batch]
  }

  enum Decision: Sendable, Equatable {
    /// Store it.
    case append
    /// Already stored: answer with the stored copy's first offset, store nothing.
    case duplicate(firstOffset: Int64)
    /// OUT_OF_ORDER_SEQUENCE_NUMBER: a batch is missing before this one.
    case outOfOrder(expected: Int32, received: Int32)
    /// INVALID_PRODUCER_EPOCH: a newer epoch of this producer has written here.
    case fenced(current: Int16, received: Int16)
  }

  private(set) var producers: [Int64: Producer] = [:]

  /// What to do with a batch from `producerID` (`-1`: not idempotent, always appended).
  func decide(producerID: Int64, epoch: Int16, firstSequence: Int32, lastSequence: Int32)
    -> Decision
  {
    guard producerID >= 0, let known = producers[producerID] else { return .append }
    if epoch < known.epoch { return .fenced(current: known.epoch, received: epoch) }
    if epoch > known.epoch {
      // A new epoch starts its sequence over.
      return firstSequence == 0 ? .append : .outOfOrder(expected: 0, received: firstSequence)
    }
    if let stored = known.batches.first(where: {
      $0.firstSequence == firstSequence && $0.lastSequence == lastSequence
    }) {
      return .duplicate(firstOffset: stored.firstOffset)
    }
    guard let last = known.batches.last else { return .append }
    let expected = last.lastSequence == Int32.max ? 0 : last.lastSequence + 1
    return firstSequence == expected
      ? .append : .outOfOrder(expected: expected, received: firstSequence)
  }

  /// Records a batch that was stored at `firstOffset...lastOffset`.
  mutating func stored(
    producerID: Int64, epoch: Int16, firstSequence: Int32, lastSequence: Int32,
    firstOffset: Int64, lastOffset: Int64
  ) {
    guard producerID >= 0 else { return }
    var producer = producers[producerID] ?? Producer(epoch: epoch, batches: [])
    if epoch != producer.epoch {
      producer = Producer(epoch: epoch, batches: [])
    }
    producer.batches.append(
      Batch(
        firstSequence: firstSequence, lastSequence: lastSequence, firstOffset: firstOffset,
        lastOffset: lastOffset))
    if producer.batches.count > Self.rememberedBatches { producer.batches.removeFirst() }
    producers[producerID] = producer
  }

  /// The state the stored batches imply, oldest batch first.
  init(rebuiltFrom batches: [StoredBatchInfo] = []) {
    for batch in batches {
      if batch.marker != nil {
        // A transaction marker carries no sequence; a newer epoch in it starts the producer over.
        let id = batch.producer.producerID
        if batch.producer.producerEpoch > producers[id]?.epoch ?? -1 {
          producers[id] = Producer(epoch: batch.producer.producerEpoch, batches: [])
        }
        continue
      }
      stored(
        producerID: batch.producer.producerID, epoch: batch.producer.producerEpoch,
        firstSequence: batch.producer.baseSequence,
        lastSequence: ProducerFields.lastSequence(
          base: batch.producer.baseSequence, count: batch.recordCount),
        firstOffset: batch.baseOffset, lastOffset: batch.lastOffset)
    }
  }
}

// MARK: - Batches in flight

extension PartitionProducers {
  /// The offset recorded for a batch decided `.append` and not yet durable.
  static let inFlight: Int64 = -1

  /// A batch still in flight: a retry of it must wait for its offsets.
  static func isInFlight(_ decision: Decision) -> Bool {
    decision == .duplicate(firstOffset: inFlight)
  }

  mutating func resolveInFlight(
    producerID: Int64, firstSequence: Int32, firstOffset: Int64, lastOffset: Int64
  ) {
    guard
      let i = producers[producerID]?.batches.lastIndex(where: {
        $0.firstSequence == firstSequence && $0.firstOffset == Self.inFlight
      })
    else { return }
    producers[producerID]!.batches[i].firstOffset = firstOffset
    producers[producerID]!.batches[i].lastOffset = lastOffset
  }

  mutating func dropInFlight(producerID: Int64, firstSequence: Int32) {
    producers[producerID]?.batches.removeAll {
      $0.firstSequence == firstSequence && $0.firstOffset == Self.inFlight
    }
  }
}
