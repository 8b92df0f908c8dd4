import XCTest

@testable import SluiceLog

/// One partition's open and aborted transactions as its batches say: the last stable offset
/// stops at the first open transaction, and aborted ranges are listed for read_committed.
final class PartitionTransactionsTests: XCTestCase {
  private func batch(_ producer: Int64, at offset: Int64, count: Int = 1) -> StoredBatchInfo {
    StoredBatchInfo(
      baseOffset: offset, lastOffset: offset + Int64(count) - 1, recordCount: count,
      producer: ProducerFields(producerID: producer, producerEpoch: 0, baseSequence: 0),
      maxTimestamp: 0, isTransactional: true)
  }

  private func marker(_ producer: Int64, _ marker: TransactionMarker, at offset: Int64)
    -> StoredBatchInfo
  {
    StoredBatchInfo(
      baseOffset: offset, lastOffset: offset, recordCount: 1,
      producer: ProducerFields(producerID: producer, producerEpoch: 0, baseSequence: -1),
      maxTimestamp: 0, isTransactional: true, marker: marker)
  }

  func testTheLastStableOffsetStopsAtTheFirstOpenTransaction() {
    var p = PartitionTransactions()
    XCTAssertEqual(p.lastStableOffset(highWatermark: 10), 10)
    p.apply([batch(1, at: 10, count: 3), batch(2, at: 13), batch(1, at: 14)], through: 15)
    XCTAssertEqual(p.lastStableOffset(highWatermark: 15), 10)
    p.apply([marker(1, .commit, at: 15)], through: 16)
    XCTAssertEqual(p.lastStableOffset(highWatermark: 16), 13)
    p.apply([marker(2, .abort, at: 16)], through: 17)
    XCTAssertEqual(p.lastStableOffset(highWatermark: 17), 17)
    XCTAssertEqual(p.aborted, [.init(producerID: 2, firstOffset: 13, lastOffset: 16)])
  }

  func testAbortedTransactionsAreListedForTheRangesTheyOverlap() {
    var p = PartitionTransactions()
    p.apply(
      [
        batch(1, at: 0, count: 5), marker(1, .abort, at: 5),
        batch(2, at: 6), batch(3, at: 7), marker(2, .abort, at: 8), marker(3, .commit, at: 9),
        batch(1, at: 10), marker(1, .abort, at: 11),
      ], through: 12)
    XCTAssertEqual(p.abortedTransactions(from: 0, below: 12).map(\.producerID), [1, 2, 1])
    XCTAssertEqual(p.abortedTransactions(from: 6, below: 12).map(\.firstOffset), [6, 10])
    XCTAssertEqual(p.abortedTransactions(from: 9, below: 10), [])
    XCTAssertEqual(p.abortedTransactions(from: 0, below: 6).map(\.lastOffset), [5])
  }

  func testBatchesReadTwiceAreTakenOnce() {
    var p = PartitionTransactions()
    p.apply([batch(1, at: 0), marker(1, .abort, at: 1)], through: 2)
    // A read that started before the first one ended overlaps it.
    p.apply([batch(1, at: 0), marker(1, .abort, at: 1), batch(4, at: 2)], through: 3)
    XCTAssertEqual(p.aborted.count, 1)
    XCTAssertEqual(p.lastStableOffset(highWatermark: 3), 2)
    XCTAssertEqual(p.end, 3)
  }

  func testAMarkerWithNoOpenTransactionChangesNothing() {
    var p = PartitionTransactions()
    p.apply([marker(1, .abort, at: 0), marker(1, .commit, at: 1)], through: 2)
    XCTAssertEqual(p.aborted, [])
    XCTAssertEqual(p.lastStableOffset(highWatermark: 2), 2)
  }

  func testBatchesOfAbortedTransactionsAreKnownByTheirFirstOffset() {
    var p = PartitionTransactions()
    p.apply(
      [
        batch(1, at: 0, count: 3), batch(2, at: 3, count: 2), batch(1, at: 5, count: 2),
        marker(2, .commit, at: 7), marker(1, .abort, at: 8), batch(3, at: 9),
        marker(3, .abort, at: 10),
      ], through: 11)
    XCTAssertEqual(p.abortedBatches, [0...2, 5...6, 9...9])
    XCTAssertEqual([0, 3, 5, 7, 8, 9, 10].filter { p.isAbortedBatch(at: $0) }, [0, 5, 9])
  }
}
