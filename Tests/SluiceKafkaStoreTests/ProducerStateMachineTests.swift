import XCTest

@testable import SluiceKafkaStore

final class ProducerStateMachineTests: XCTestCase {
  let p0 = KafkaTopicPartition("t", 0)
  let p1 = KafkaTopicPartition("t", 1)

  func testIdempotentProducerNumbersEachPartitionFromZero() throws {
    var machine = ProducerStateMachine(transactional: false)
    XCTAssertThrowsError(try machine.reserveSequence(for: p0, count: 1))
    try machine.initializing()
    machine.initialized(producerId: 7, epoch: 0)
    XCTAssertEqual(try machine.partitionsToAdd([p0]), [])
    XCTAssertEqual(try machine.reserveSequence(for: p0, count: 3), 0)
    XCTAssertEqual(try machine.reserveSequence(for: p0, count: 2), 3)
    XCTAssertEqual(try machine.reserveSequence(for: p1, count: 1), 0)
    XCTAssertEqual(machine.sequences[p0], 5)
    XCTAssertThrowsError(try machine.beginTransaction())
  }

  func testSequencesWrapAfterInt32Max() throws {
    var machine = ProducerStateMachine(transactional: false)
    try machine.initializing()
    machine.initialized(producerId: 1, epoch: 0)
    _ = try machine.reserveSequence(for: p0, count: Int(Int32.max))
    XCTAssertEqual(try machine.reserveSequence(for: p0, count: 2), Int32.max)
    XCTAssertEqual(machine.sequences[p0], 1)
  }

  func testReinitializationRestartsSequences() throws {
    var machine = ProducerStateMachine(transactional: false)
    try machine.initializing()
    machine.initialized(producerId: 1, epoch: 0)
    _ = try machine.reserveSequence(for: p0, count: 4)
    machine.writeFailed("OUT_OF_ORDER_SEQUENCE_NUMBER")
    XCTAssertEqual(machine.state, .failed("OUT_OF_ORDER_SEQUENCE_NUMBER"))
    XCTAssertThrowsError(try machine.reserveSequence(for: p0, count: 1))
    try machine.initializing()
    machine.initialized(producerId: 1, epoch: 1)
    XCTAssertEqual(try machine.reserveSequence(for: p0, count: 1), 0)
  }

  func testTransactionAddsEachPartitionOnceAndCommits() throws {
    var machine = ProducerStateMachine(transactional: true)
    try machine.initializing()
    machine.initialized(producerId: 9, epoch: 2)
    XCTAssertThrowsError(try machine.partitionsToAdd([p0]), "no write outside a transaction")
    try machine.beginTransaction()
    XCTAssertEqual(machine.state, .inTransaction)
    XCTAssertEqual(try machine.partitionsToAdd([p1, p0]), [p0, p1])
    XCTAssertThrowsError(try machine.reserveSequence(for: p0, count: 1), "not added yet")
    machine.partitionsAdded([p0])
    XCTAssertEqual(try machine.partitionsToAdd([p0, p1]), [p1])
    XCTAssertEqual(try machine.reserveSequence(for: p0, count: 2), 0)
    XCTAssertEqual(try machine.endTransaction(commit: true), .sendEndTxn(commit: true))
    XCTAssertEqual(machine.state, .endingTransaction(commit: true))
    XCTAssertThrowsError(try machine.beginTransaction())
    machine.transactionEnded()
    XCTAssertEqual(machine.state, .ready)
    XCTAssertEqual(machine.partitionsInTransaction, [])
    // Sequences go on across transactions of the same epoch.
    try machine.beginTransaction()
    machine.partitionsAdded([p0])
    XCTAssertEqual(try machine.reserveSequence(for: p0, count: 1), 2)
  }

  func testAnEmptyTransactionEndsWithoutARequest() throws {
    var machine = ProducerStateMachine(transactional: true)
    try machine.initializing()
    machine.initialized(producerId: 9, epoch: 0)
    try machine.beginTransaction()
    XCTAssertEqual(try machine.endTransaction(commit: false), .complete)
    XCTAssertEqual(machine.state, .ready)
  }

  func testOffsetsOnlyTransactionNeedsEndTxn() throws {
    var machine = ProducerStateMachine(transactional: true)
    try machine.initializing()
    machine.initialized(producerId: 9, epoch: 0)
    XCTAssertThrowsError(try machine.checkCanAddOffsets())
    try machine.beginTransaction()
    try machine.checkCanAddOffsets()
    try machine.groupAdded("g")
    XCTAssertEqual(try machine.endTransaction(commit: true), .sendEndTxn(commit: true))
  }

  func testAFailedWriteAllowsOnlyAnAbort() throws {
    var machine = ProducerStateMachine(transactional: true)
    try machine.initializing()
    machine.initialized(producerId: 9, epoch: 0)
    try machine.beginTransaction()
    machine.partitionsAdded([p0])
    machine.writeFailed("MESSAGE_TOO_LARGE")
    XCTAssertThrowsError(try machine.endTransaction(commit: true))
    XCTAssertThrowsError(try machine.reserveSequence(for: p0, count: 1))
    XCTAssertEqual(try machine.endTransaction(commit: false), .sendEndTxn(commit: false))
    machine.transactionEnded()
    XCTAssertEqual(machine.state, .ready)
  }

  func testAFencedProducerRefusesEverything() throws {
    var machine = ProducerStateMachine(transactional: true)
    try machine.initializing()
    machine.initialized(producerId: 9, epoch: 0)
    try machine.beginTransaction()
    machine.fenced()
    machine.failed("later failure does not hide the fencing")
    XCTAssertEqual(machine.state, .fenced)
    for attempt in [
      { _ = try machine.partitionsToAdd([self.p0]) }, { try machine.beginTransaction() },
      { _ = try machine.endTransaction(commit: false) }, { try machine.initializing() },
    ] as [() throws -> Void] {
      XCTAssertThrowsError(try attempt()) { error in
        XCTAssertEqual((error as? KafkaClientError)?.kind, .fenced)
      }
    }
  }
}
