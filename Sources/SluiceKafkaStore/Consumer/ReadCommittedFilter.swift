import SluiceKafka

/// What a read_committed reader keeps of fetched batches: control batches (transaction
/// markers) never, a transactional batch not when its producer's transaction was aborted
/// (Fetch's AbortedTransactions list says which producer aborted from which offset, until that
/// producer's next marker), and nothing at or past the last stable offset.
///
/// A transactional batch followed in the same response by an ABORT marker of its producer (with
/// no marker of that producer between) is dropped even when the list does not name it: the
/// marker is what ends the transaction, and Tansu 0.6 writes the marker but sends an empty
/// list.
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
    let endedBy = closingMarkers(batches)
    for (index, batch) in batches.enumerated() {
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
      if batch.isTransactional, let marker = endedBy[index], batches[marker].controlCommits == false
      {
        continue
      }
      for record in batch.records where lastStableOffset < 0 || record.offset < lastStableOffset {
        result.append(record)
      }
    }
    return result
  }

  /// For each transactional data batch, the index of the control batch of its producer that
  /// follows it (nil when none does in `batches`).
  static func closingMarkers(_ batches: [DecodedBatch]) -> [Int: Int] {
    var open: [Int64: [Int]] = [:]
    var result: [Int: Int] = [:]
    for (index, batch) in batches.enumerated() where batch.isTransactional {
      if batch.isControl {
        for waiting in open.removeValue(forKey: batch.producerId) ?? [] { result[waiting] = index }
      } else {
        open[batch.producerId, default: []].append(index)
      }
    }
    return result
  }

  /// The base offset of the first transactional data batch, after the response's first batch,
  /// whose outcome the response does not show (no marker of its producer follows it, and the
  /// aborted list does not name it): a reader stops there and fetches it again, rather than
  /// deliver records of a transaction that may turn out aborted. Nil when there is none.
  public static func undecidedTransactionStart(
    _ batches: [DecodedBatch], aborted: [AbortedTransaction]
  ) -> Int64? {
    let endedBy = closingMarkers(batches)
    let abortedProducers = Set(aborted.map(\.producerId))
    for (index, batch) in batches.enumerated().dropFirst()
    where batch.isTransactional && !batch.isControl && endedBy[index] == nil
      && !abortedProducers.contains(batch.producerId)
    {
      return batch.baseOffset
    }
    return nil
  }

  /// Every data record of `batches` (read_uncommitted): control batches skipped.
  public static func allRecords(_ batches: [DecodedBatch]) -> [FetchedRecord] {
    batches.filter { !$0.isControl }.flatMap(\.records)
  }
}
