/// What one partition's log says of transactions: the first offset of each producer's open
/// transaction, so that the last stable offset is the smallest of them (or the high
/// watermark), and the aborted transactions, so that read_committed readers skip their batches
/// and Kafka clients are told which records to drop (Kafka's ProducerStateManager and
/// transaction index, as a value).
///
/// Built, and then followed, from the partition's transactional batches and markers in offset
/// order (``apply(_:through:)``): the log is the only truth, so a restart rebuilds it by reading
/// the same batch headers again.
public struct PartitionTransactions: Sendable, Equatable {
  /// An aborted transaction: its producer and the offsets from its first batch to its marker.
  public struct Aborted: Sendable, Equatable {
    public var producerID: Int64
    public var firstOffset: Int64
    public var lastOffset: Int64

    public init(producerID: Int64, firstOffset: Int64, lastOffset: Int64) {
      self.producerID = producerID
      self.firstOffset = firstOffset
      self.lastOffset = lastOffset
    }
  }

  /// Producer id -> first offset of its open transaction.
  public private(set) var open: [Int64: Int64] = [:]
  /// Producer id -> the batches of its open transaction.
  private var openBatches: [Int64: [ClosedRange<Int64>]] = [:]
  /// Oldest first (markers are in offset order).
  public private(set) var aborted: [Aborted] = []
  /// The batches of aborted transactions, in offset order (batches never overlap).
  private(set) var abortedBatches: [ClosedRange<Int64>] = []
  /// The offset the batches have been read up to.
  public private(set) var end: Int64 = 0

  public init() {}

  /// Takes in the transactional batches and markers read from `end` up to `readEnd` (those
  /// below ``end`` were taken in already and are skipped, so overlapping reads are harmless).
  public mutating func apply(_ batches: [StoredBatchInfo], through readEnd: Int64) {
    for batch in batches where batch.baseOffset >= end {
      let producer = batch.producer.producerID
      if let marker = batch.marker {
        guard let first = open.removeValue(forKey: producer) else { continue }
        let batches = openBatches.removeValue(forKey: producer) ?? []
        if marker == .abort {
          aborted.append(
            Aborted(producerID: producer, firstOffset: first, lastOffset: batch.baseOffset))
          for range in batches {
            abortedBatches.insert(range, at: insertionIndex(of: range.lowerBound))
          }
        }
      } else if batch.isTransactional {
        if open[producer] == nil { open[producer] = batch.baseOffset }
        openBatches[producer, default: []].append(batch.baseOffset...batch.lastOffset)
      }
    }
    end = max(end, readEnd)
  }

  /// The last stable offset: no record at or past it belongs to a transaction that may still
  /// be open; at most `highWatermark`.
  public func lastStableOffset(highWatermark: Int64) -> Int64 {
    min(open.values.min() ?? highWatermark, highWatermark)
  }

  /// The aborted transactions with records in `from..<below`, for a read_committed fetch of
  /// that range.
  public func abortedTransactions(from: Int64, below: Int64) -> [Aborted] {
    guard from < below else { return [] }
    // Markers are in offset order: those at or after `from` are a suffix of the list.
    var out: [Aborted] = []
    for entry in aborted.reversed() {
      if entry.lastOffset < from { break }
      if entry.firstOffset < below { out.append(entry) }
    }
    return out.reversed()
  }

  /// Whether the batch whose first offset is `base` belongs to an aborted transaction.
  public func isAbortedBatch(at base: Int64) -> Bool {
    let i = insertionIndex(of: base)
    return i > 0 && abortedBatches[i - 1].contains(base)
  }

  /// The index of the first aborted batch starting after `offset`.
  private func insertionIndex(of offset: Int64) -> Int {
    var low = 0
    var high = abortedBatches.count
    while low < high {
      let mid = (low + high) / 2
      if abortedBatches[mid].lowerBound <= offset { low = mid + 1 } else { high = mid }
    }
    return low
  }
}
