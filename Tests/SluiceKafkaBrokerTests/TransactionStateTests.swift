import SluiceCore
import SluiceKafka
import SluiceLog
import XCTest

@testable import SluiceKafkaBroker

/// One transactional id's state machine: epochs fence older producers, a transaction goes
/// Ongoing -> Prepare* -> Complete*, ends are retried safely, and what a restart or a timeout
/// does with a transaction left open.
final class TransactionStateTests: XCTestCase {
  private let a = TopicPartition("orders", 0)
  private let b = TopicPartition("orders", 1)

  private func initialized() -> TransactionState {
    var state = TransactionState(transactionalID: "tx", producerID: 7, timeoutMs: 60_000)
    XCTAssertEqual(
      state.initProducer(
        timeoutMs: 60_000, requestedProducerID: -1, requestedEpoch: -1, spareProducerID: 99),
      .answer(producerID: 7, epoch: 0))
    return state
  }

  func testInitGivesAStableProducerIDAndBumpsTheEpochEachTime() {
    var state = initialized()
    XCTAssertEqual(
      state.initProducer(
        timeoutMs: 60_000, requestedProducerID: -1, requestedEpoch: -1, spareProducerID: 99),
      .answer(producerID: 7, epoch: 1))
    XCTAssertEqual(state.phase, .empty)
  }

  func testAnOlderEpochIsFencedEverywhere() {
    var state = initialized()
    _ = state.initProducer(
      timeoutMs: 60_000, requestedProducerID: -1, requestedEpoch: -1, spareProducerID: 99)
    XCTAssertEqual(state.addPartitions([a], producerID: 7, epoch: 0, nowMs: 0), .producerFenced)
    XCTAssertEqual(state.addOffsets(group: "g", producerID: 7, epoch: 0, nowMs: 0), .producerFenced)
    XCTAssertEqual(state.end(commit: true, producerID: 7, epoch: 0), .answer(.producerFenced))
    XCTAssertEqual(state.checkProduce(producerID: 7, epoch: 0, partition: a), .invalidProducerEpoch)
    XCTAssertEqual(
      state.addPartitions([a], producerID: 8, epoch: 1, nowMs: 0), .invalidProducerIDMapping)
  }

  func testCommitGoesThroughPrepareCommitAndCommitsThePendingOffsets() {
    var state = initialized()
    XCTAssertEqual(state.checkProduce(producerID: 7, epoch: 0, partition: a), .invalidTxnState)
    XCTAssertEqual(state.addPartitions([a, b], producerID: 7, epoch: 0, nowMs: 10), .none)
    XCTAssertEqual(state.phase, .ongoing)
    XCTAssertEqual(state.checkProduce(producerID: 7, epoch: 0, partition: a), .none)
    XCTAssertEqual(
      state.checkProduce(producerID: 7, epoch: 0, partition: TopicPartition("other", 0)),
      .invalidTxnState)
    let offset = GroupOffsetStore.Committed(
      offset: 5, metadata: nil, leaderEpoch: -1, commitTimestamp: 0)
    XCTAssertEqual(
      state.commitOffsets([a: offset], group: "g", producerID: 7, epoch: 0), .invalidTxnState,
      "offsets of a group not added to the transaction")
    XCTAssertEqual(state.addOffsets(group: "g", producerID: 7, epoch: 0, nowMs: 10), .none)
    XCTAssertEqual(state.commitOffsets([a: offset], group: "g", producerID: 7, epoch: 0), .none)

    XCTAssertEqual(
      state.end(commit: true, producerID: 7, epoch: 0), .writeMarkers(.commit, partitions: [a, b]))
    XCTAssertEqual(state.phase, .prepareCommit)
    // While the markers are written, everything else waits.
    XCTAssertEqual(
      state.end(commit: true, producerID: 7, epoch: 0), .answer(.concurrentTransactions))
    XCTAssertEqual(
      state.addPartitions([a], producerID: 7, epoch: 0, nowMs: 10), .concurrentTransactions)
    XCTAssertEqual(
      state.initProducer(
        timeoutMs: 60_000, requestedProducerID: -1, requestedEpoch: -1, spareProducerID: 99),
      .fail(.concurrentTransactions))
    XCTAssertEqual(state.checkProduce(producerID: 7, epoch: 0, partition: a), .invalidTxnState)

    XCTAssertEqual(state.markersWritten(), ["g": [a: offset]])
    XCTAssertEqual(state.phase, .completeCommit)
    XCTAssertEqual(state.partitions, [])
    // A retried EndTxn is answered as done; the opposite one is refused.
    XCTAssertEqual(state.end(commit: true, producerID: 7, epoch: 0), .answer(.none))
    XCTAssertEqual(state.end(commit: false, producerID: 7, epoch: 0), .answer(.invalidTxnState))
    // The next transaction starts afresh.
    XCTAssertEqual(state.addPartitions([b], producerID: 7, epoch: 0, nowMs: 20), .none)
    XCTAssertEqual(state.partitions, [b])
    XCTAssertEqual(state.pendingOffsets, [:])
  }

  func testAbortDropsThePendingOffsets() {
    var state = initialized()
    _ = state.addPartitions([a], producerID: 7, epoch: 0, nowMs: 0)
    _ = state.addOffsets(group: "g", producerID: 7, epoch: 0, nowMs: 0)
    let offset = GroupOffsetStore.Committed(
      offset: 5, metadata: nil, leaderEpoch: -1, commitTimestamp: 0)
    _ = state.commitOffsets([a: offset], group: "g", producerID: 7, epoch: 0)
    XCTAssertEqual(
      state.end(commit: false, producerID: 7, epoch: 0), .writeMarkers(.abort, partitions: [a]))
    XCTAssertEqual(state.markersWritten(), [:])
    XCTAssertEqual(state.phase, .completeAbort)
  }

  func testEndWithNoTransactionIsInvalid() {
    var state = initialized()
    XCTAssertEqual(state.end(commit: true, producerID: 7, epoch: 0), .answer(.invalidTxnState))
  }

  func testInitWithATransactionOpenAbortsItUnderTheNewEpoch() {
    var state = initialized()
    _ = state.addPartitions([a], producerID: 7, epoch: 0, nowMs: 0)
    XCTAssertEqual(
      state.initProducer(
        timeoutMs: 60_000, requestedProducerID: -1, requestedEpoch: -1, spareProducerID: 99),
      .abortThenAnswer(partitions: [a], producerID: 7, epoch: 1))
    XCTAssertEqual(state.phase, .prepareAbort)
    XCTAssertEqual(state.markerEpoch, 1)
    _ = state.markersWritten()
    XCTAssertEqual(state.phase, .completeAbort)
    // The zombie of epoch 0 cannot write any more.
    XCTAssertEqual(state.checkProduce(producerID: 7, epoch: 0, partition: a), .invalidProducerEpoch)
    XCTAssertEqual(state.end(commit: true, producerID: 7, epoch: 0), .answer(.producerFenced))
  }

  func testAProducerBumpingItsOwnEpochMustStillOwnIt() {
    var state = initialized()
    XCTAssertEqual(
      state.initProducer(
        timeoutMs: 60_000, requestedProducerID: 7, requestedEpoch: 0, spareProducerID: 99),
      .answer(producerID: 7, epoch: 1))
    XCTAssertEqual(
      state.initProducer(
        timeoutMs: 60_000, requestedProducerID: 7, requestedEpoch: 0, spareProducerID: 99),
      .fail(.producerFenced))
  }

  func testAnExhaustedEpochGetsANewProducerID() {
    var state = TransactionState(
      transactionalID: "tx", producerID: 7, epoch: Int16.max - 1, timeoutMs: 1000, phase: .empty,
      partitions: [], groups: [], pendingOffsets: [:], startedMs: 0)
    XCTAssertEqual(
      state.initProducer(
        timeoutMs: 1000, requestedProducerID: -1, requestedEpoch: -1, spareProducerID: 99),
      .answer(producerID: 99, epoch: 0))
  }

  func testATransactionPastItsTimeoutIsAbortedAndItsProducerFenced() {
    var state = initialized()
    _ = state.addPartitions([a], producerID: 7, epoch: 0, nowMs: 1_000)
    XCTAssertNil(state.expire(nowMs: 61_000))
    XCTAssertEqual(state.expire(nowMs: 61_001), .writeMarkers(.abort, partitions: [a]))
    XCTAssertEqual(state.phase, .prepareAbort)
    XCTAssertEqual(state.markerEpoch, 1)
    XCTAssertEqual(state.checkProduce(producerID: 7, epoch: 0, partition: a), .invalidProducerEpoch)
  }

  func testRecoveryAbortsAnOpenTransactionAndFinishesAnEndingOne() {
    var open = initialized()
    _ = open.addPartitions([a], producerID: 7, epoch: 0, nowMs: 0)
    XCTAssertEqual(open.recover(), .writeMarkers(.abort, partitions: [a]))
    XCTAssertEqual(open.markerEpoch, 1)

    var ending = initialized()
    _ = ending.addPartitions([a, b], producerID: 7, epoch: 0, nowMs: 0)
    _ = ending.end(commit: true, producerID: 7, epoch: 0)
    XCTAssertEqual(ending.recover(), .writeMarkers(.commit, partitions: [a, b]))
    XCTAssertEqual(ending.markerEpoch, 0)

    var done = initialized()
    XCTAssertNil(done.recover())
  }
}
