import Foundation
import SluiceLog
import XCTest

@testable import SluiceKafkaBroker

/// Idempotent producers on one partition: retries answered with the stored offset, gaps
/// refused, old epochs fenced, and the same state rebuilt from stored batches.
final class PartitionProducersTests: XCTestCase {
  private func store(
    _ p: inout PartitionProducers, _ id: Int64, epoch: Int16 = 0, _ seq: Int32, count: Int32,
    at offset: Int64
  ) {
    p.stored(
      producerID: id, epoch: epoch, firstSequence: seq, lastSequence: seq + count - 1,
      firstOffset: offset, lastOffset: offset + Int64(count) - 1)
  }

  func testARetriedBatchIsADuplicateWithItsFirstOffset() {
    var p = PartitionProducers()
    XCTAssertEqual(p.decide(producerID: 1, epoch: 0, firstSequence: 0, lastSequence: 9), .append)
    store(&p, 1, 0, count: 10, at: 100)
    store(&p, 1, 10, count: 5, at: 110)
    XCTAssertEqual(
      p.decide(producerID: 1, epoch: 0, firstSequence: 0, lastSequence: 9),
      .duplicate(firstOffset: 100))
    XCTAssertEqual(
      p.decide(producerID: 1, epoch: 0, firstSequence: 10, lastSequence: 14),
      .duplicate(firstOffset: 110))
    XCTAssertEqual(p.decide(producerID: 1, epoch: 0, firstSequence: 15, lastSequence: 15), .append)
  }

  func testAGapInTheSequenceIsOutOfOrder() {
    var p = PartitionProducers()
    store(&p, 1, 0, count: 10, at: 0)
    XCTAssertEqual(
      p.decide(producerID: 1, epoch: 0, firstSequence: 12, lastSequence: 13),
      .outOfOrder(expected: 10, received: 12))
  }

  func testAnOlderEpochIsFencedAndANewOneStartsAtZero() {
    var p = PartitionProducers()
    store(&p, 1, epoch: 3, 0, count: 2, at: 0)
    XCTAssertEqual(
      p.decide(producerID: 1, epoch: 2, firstSequence: 2, lastSequence: 2),
      .fenced(current: 3, received: 2))
    XCTAssertEqual(
      p.decide(producerID: 1, epoch: 4, firstSequence: 5, lastSequence: 5),
      .outOfOrder(expected: 0, received: 5))
    XCTAssertEqual(p.decide(producerID: 1, epoch: 4, firstSequence: 0, lastSequence: 0), .append)
    store(&p, 1, epoch: 4, 0, count: 1, at: 2)
    XCTAssertEqual(p.producers[1]?.epoch, 4)
    XCTAssertEqual(p.producers[1]?.batches.count, 1, "a new epoch forgets the old batches")
  }

  func testOnlyTheLastFiveBatchesAreRemembered() {
    var p = PartitionProducers()
    for i in 0..<8 { store(&p, 1, Int32(i), count: 1, at: Int64(i)) }
    XCTAssertEqual(p.producers[1]?.batches.map(\.firstSequence), [3, 4, 5, 6, 7])
    // A retry of a batch older than that is no longer recognised, and is out of order.
    XCTAssertEqual(
      p.decide(producerID: 1, epoch: 0, firstSequence: 1, lastSequence: 1),
      .outOfOrder(expected: 8, received: 1))
  }

  func testSequencesWrapAfterInt32Max() {
    var p = PartitionProducers()
    p.stored(
      producerID: 1, epoch: 0, firstSequence: Int32.max - 1, lastSequence: Int32.max,
      firstOffset: 0, lastOffset: 1)
    XCTAssertEqual(p.decide(producerID: 1, epoch: 0, firstSequence: 0, lastSequence: 4), .append)
  }

  func testAProducerNotSeenHereAndANonIdempotentBatchAreAppended() {
    let p = PartitionProducers()
    XCTAssertEqual(p.decide(producerID: 9, epoch: 0, firstSequence: 40, lastSequence: 41), .append)
    XCTAssertEqual(
      p.decide(producerID: -1, epoch: -1, firstSequence: -1, lastSequence: -1), .append)
  }

  func testTheStateIsRebuiltFromStoredBatches() {
    var batches: [StoredBatchInfo] = []
    for i: Int64 in 0..<3 {
      let fields = ProducerFields(producerID: 5, producerEpoch: 1, baseSequence: Int32(i * 4))
      batches.append(
        StoredBatchInfo(
          baseOffset: i * 4, lastOffset: i * 4 + 3, recordCount: 4, producer: fields,
          maxTimestamp: 0))
    }
    let p = PartitionProducers(rebuiltFrom: batches)
    XCTAssertEqual(
      p.decide(producerID: 5, epoch: 1, firstSequence: 8, lastSequence: 11),
      .duplicate(firstOffset: 8))
    XCTAssertEqual(p.decide(producerID: 5, epoch: 1, firstSequence: 12, lastSequence: 12), .append)
    XCTAssertEqual(
      p.decide(producerID: 5, epoch: 0, firstSequence: 12, lastSequence: 12),
      .fenced(current: 1, received: 0))
  }

  func testInitProducerIdBumpsTheEpochOfAKnownProducerAndIdsGrowAcrossRestarts() {
    let earlier = ProducerRegistry(now: Date(timeIntervalSince1970: 1_000))
    let first = earlier.initProducer(id: -1, epoch: -1)
    XCTAssertEqual(first.epoch, 0)
    XCTAssertEqual(earlier.initProducer(id: first.id, epoch: 0).epoch, 1)
    XCTAssertEqual(earlier.initProducer(id: first.id, epoch: 1).epoch, 2)
    XCTAssertNotEqual(earlier.initProducer(id: -1, epoch: -1).id, first.id)
    let later = ProducerRegistry(now: Date(timeIntervalSince1970: 1_001))
    XCTAssertGreaterThan(later.initProducer(id: -1, epoch: -1).id, first.id + 1000)
  }
}
