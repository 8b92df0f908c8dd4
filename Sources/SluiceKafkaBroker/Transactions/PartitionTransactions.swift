import SluiceLog

/// What one partition's log says of transactions: the first offset of each producer's open
/// transaction, so that the last stable offset is the smallest of them (or the high
/// watermark), and the aborted transactions, so that read_committed fetches can tell clients
/// which records to drop (Kafka's ProducerStateManager and transaction index, as a value).
///
/// Built, and then followed, from the partition's transactional batches and markers in offset
/// order (``apply(_:through:)``): the log is the only truth, so a restart rebuilds it by reading
/// the same batches again.
struct PartitionTransactions: Sendable, Equatable {
  /// An aborted transaction: its producer and the offsets from its first batch to its marker.
  struct Aborted: Sendable, Equatable {
    var producerID: Int64
    var firstOffset: Int64
    var lastOffset: Int64
  }

  /// Producer id -> first offset of its open transaction.
  private(set) var open: [Int64: Int64] = [:]
  /// Oldest first (markers are in offset order).
  private(set) var aborted: [Aborted] = []
  /// The offset the batches have been read up to.
  private(set) var end: Int64 = 0

  /// Takes in the transactional batches and markers read from `end` up to `readEnd` (those
  /// below ``end`` were taken in already and are skipped, so overlapping reads are harmless).
  mutating func apply(_ batches: [StoredBatchInfo], through readEnd: Int64) {
    for batch in batches where batch.baseOffset >= end {
      let producer = batch.producer.producerID
      if let marker = batch.marker {
        guard let first = open.removeValue(forKey: producer) else { continue }
        if marker == .abort {
          aborted.append(
            Aborted(producerID: producer, firstOffset: first, lastOffset: batch.baseOffset))
        }
      } else if batch.isTransactional, open[producer] == nil {
        open[producer] = batch.baseOffset
      }
    }
    end = max(end, readEnd)
  }

  /// The last stable offset: no record at or past it belongs to a transaction that may still
  /// be open; at most `highWatermark`.
  func lastStableOffset(highWatermark: Int64) -> Int64 {
    min(open.values.min() ?? highWatermark, highWatermark)
  }

  /// The aborted transactions with records in `from..<below`, for a read_committed fetch of
  /// that range.
  func abortedTransactions(from: Int64, below: Int64) -> [Aborted] {
    guard from < below else { return [] }
    // Markers are in offset order: those at or after `from` are a suffix of the list.
    var out: [Aborted] = []
    for entry in aborted.reversed() {
      if entry.lastOffset < from { break }
      if entry.firstOffset < below { out.append(entry) }
    }
    return out.reversed()
  }
}
