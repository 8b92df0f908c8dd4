import SluiceKafka

/// What a read_committed reader keeps of fetched batches: control batches (transaction
/// markers) never, a transactional batch not when its producer's transaction was aborted
/// (Fetch's AbortedTransactions list says which producer aborted from which offset, until that
/// producer's next marker), and nothing at or past the last stable offset.
public enum ReadCommittedFilter {
  /// An aborted transaction: its producer and first offset.
  public struct AbortedTransaction: Sendable, Equatable {
    /// The producer whose transaction was aborted.
    public var producerId: Int64
    /// The transaction's first offset.
    public var firstOffset: Int64

    /// An aborted transaction of `producerId` starting at `firstOffset`.
    public init(producerId: Int64, firstOffset: Int64) {
      self.producerId = producerId
      self.firstOffset = firstOffset
    }
  }

  /// The committed records of `batches` (in offset order).
  public static func records(
    _ batches: [DecodedBatch], aborted: [AbortedTransaction], lastStableOffset: Int64
  ) -> [FetchedRecord] {
    var pending = aborted.sorted { $0.firstOffset < $1.firstOffset }[...]
    var abortedProducers: Set<Int64> = []
    var result: [FetchedRecord] = []
    for batch in batches {
      while let next = pending.first, next.firstOffset <= batch.lastOffset {
        abortedProducers.insert(next.producerId)
        pending.removeFirst()
      }
      if batch.isControl {
        // The marker ends the producer's transaction, aborted or not.
        abortedProducers.remove(batch.producerId)
        continue
      }
      if batch.isTransactional && abortedProducers.contains(batch.producerId) { continue }
      for record in batch.records where lastStableOffset < 0 || record.offset < lastStableOffset {
        result.append(record)
      }
    }
    return result
  }

  /// Every data record of `batches` (read_uncommitted): control batches skipped.
  public static func allRecords(_ batches: [DecodedBatch]) -> [FetchedRecord] {
    batches.filter { !$0.isControl }.flatMap(\.records)
  }
}
