import XCTest

@testable import PostgresCDCConnector

/// The replication thread's hand-off of chunks: bounded, and impossible to over-release by
/// stopping or by a stray `consumed()`, which is what used to trap in libdispatch.
final class ChunkHandOffTests: XCTestCase {
  func testOneChunkWaitsAtATimeAndConsumingMakesRoom() {
    var handOff = ChunkHandOff(capacity: 1)
    XCTAssertEqual(handOff.reserve(), .handOver)
    XCTAssertEqual(handOff.reserve(), .wait, "the task has not taken the first chunk")
    XCTAssertEqual(handOff.waiting, 1)
    handOff.consumed()
    XCTAssertEqual(handOff.reserve(), .handOver)
  }

  func testStopWhileTheThreadWaitsEndsItWithoutCountingAnotherChunk() {
    var handOff = ChunkHandOff(capacity: 1)
    XCTAssertEqual(handOff.reserve(), .handOver)
    XCTAssertEqual(handOff.turn, .wait)
    handOff.stop()
    handOff.stop()
    XCTAssertEqual(handOff.reserve(), .stop)
    XCTAssertEqual(handOff.waiting, 1, "a stop is not room for another chunk")
  }

  func testConsumedWithoutAChunkNeverMakesExtraRoom() {
    var handOff = ChunkHandOff(capacity: 1)
    handOff.consumed()
    handOff.consumed()
    XCTAssertEqual(handOff.waiting, 0)
    XCTAssertEqual(handOff.reserve(), .handOver)
    XCTAssertEqual(handOff.reserve(), .wait, "still only one chunk may wait")
  }
}
