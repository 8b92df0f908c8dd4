import XCTest

@testable import SluiceLog

/// The writer threads' schedule, driven without threads: which partition is committed next,
/// what forms a group, and how stopping drains.
final class CommitScheduleTests: XCTestCase {
  private typealias Schedule = CommitSchedule<String, Int>

  private func take(_ schedule: inout Schedule) -> (Schedule.Work, [Int]) {
    var group: [Int] = []
    let work = schedule.next(taking: &group)
    return (work, group)
  }

  func testAppendsQueuedDuringACommitFormThePartitionsNextGroup() {
    var schedule = Schedule()
    XCTAssertEqual(schedule.submit(1, to: "p0"), .wakeWriter)
    let (first, firstGroup) = take(&schedule)
    XCTAssertEqual(first, .commit("p0"))
    XCTAssertEqual(firstGroup, [1])
    // While p0 is being committed, its new appends wait: no second thread may write p0.
    XCTAssertEqual(schedule.submit(2, to: "p0"), .queued)
    XCTAssertEqual(schedule.submit(3, to: "p0"), .queued)
    XCTAssertEqual(take(&schedule).0, .wait)
    XCTAssertTrue(schedule.finished("p0"), "p0 has more queued and is ready again")
    let (second, secondGroup) = take(&schedule)
    XCTAssertEqual(second, .commit("p0"))
    XCTAssertEqual(secondGroup, [2, 3], "everything queued meanwhile, in order, as one group")
    XCTAssertFalse(schedule.finished("p0"))
    XCTAssertEqual(schedule.busyLanes, 0)
  }

  func testPartitionsAreCommittedSideBySideFirstComeFirstServed() {
    var schedule = Schedule()
    XCTAssertEqual(schedule.submit(1, to: "a"), .wakeWriter)
    XCTAssertEqual(schedule.submit(2, to: "b"), .wakeWriter)
    XCTAssertEqual(schedule.submit(3, to: "a"), .queued, "a is already ready")
    XCTAssertEqual(schedule.submit(4, to: "c"), .wakeWriter)
    // Three free writers take three partitions at once; none waits for another's sync.
    let (w1, g1) = take(&schedule)
    let (w2, g2) = take(&schedule)
    let (w3, g3) = take(&schedule)
    XCTAssertEqual([w1, w2, w3], [.commit("a"), .commit("b"), .commit("c")])
    XCTAssertEqual([g1, g2, g3], [[1, 3], [2], [4]])
    XCTAssertEqual(take(&schedule).0, .wait)
    // b finishing first does not wait for a.
    XCTAssertFalse(schedule.finished("b"))
    XCTAssertEqual(schedule.submit(5, to: "b"), .wakeWriter)
    let (w4, g4) = take(&schedule)
    XCTAssertEqual(w4, .commit("b"))
    XCTAssertEqual(g4, [5])
  }

  func testStoppingRejectsNewAppendsAndExitsOnlyAfterQueuedOnesAreCommitted() {
    var schedule = Schedule()
    _ = schedule.submit(1, to: "a")
    let (w1, _) = take(&schedule)
    XCTAssertEqual(w1, .commit("a"))
    _ = schedule.submit(2, to: "a")
    schedule.stop()
    XCTAssertEqual(schedule.submit(3, to: "a"), .rejected)
    XCTAssertEqual(take(&schedule).0, .wait, "a is still being committed")
    XCTAssertTrue(schedule.finished("a"))
    let (w2, g2) = take(&schedule)
    XCTAssertEqual(w2, .commit("a"))
    XCTAssertEqual(g2, [2], "queued before the stop, so still committed")
    XCTAssertEqual(take(&schedule).0, .wait)
    XCTAssertFalse(schedule.finished("a"))
    XCTAssertEqual(take(&schedule).0, .exit)
  }
}

/// Encoding buffers kept between appends.
final class BatchBufferPoolTests: XCTestCase {
  func testBuffersAreReusedInPlaceAndDroppedWhenIdle() {
    let pool = BatchBufferPool(maxBytes: 1 << 20, maxBufferBytes: 512 << 10)
    var buffer = pool.take()
    XCTAssertEqual(buffer.capacity, 0, "an empty pool hands out a new buffer")
    buffer.reserveCapacity(100_000)
    buffer.append(contentsOf: [UInt8](repeating: 7, count: 100_000))
    let storage = buffer.withUnsafeBytes { $0.baseAddress }
    pool.give(consume buffer)
    XCTAssertGreaterThanOrEqual(pool.keptBytes, 100_000)
    let again = pool.take()
    XCTAssertTrue(again.isEmpty)
    XCTAssertEqual(again.withUnsafeBytes { $0.baseAddress }, storage, "the same storage")
    pool.give(consume again)
    pool.trimIfIdle()
    XCTAssertGreaterThan(pool.keptBytes, 0, "taken since the last trim: kept")
    pool.trimIfIdle()
    XCTAssertEqual(pool.keptBytes, 0, "nothing taken since the last trim: dropped")
  }

  func testOversizedBuffersAndBuffersBeyondTheBudgetAreNotKept() {
    let pool = BatchBufferPool(maxBytes: 300 << 10, maxBufferBytes: 200 << 10)
    pool.give([UInt8](repeating: 0, count: 250 << 10))
    XCTAssertEqual(pool.keptBytes, 0, "larger than one buffer may be")
    pool.give([UInt8](repeating: 0, count: 150 << 10))
    pool.give([UInt8](repeating: 0, count: 150 << 10))
    XCTAssertLessThanOrEqual(pool.keptBytes, 300 << 10)
    XCTAssertGreaterThan(pool.keptBytes, 0)
  }

  func testBatchEncodedIntoAReusedBufferIsTheSameAsAFreshOne() {
    let records = (0..<50).map {
      LogRecord(
        timestamp: 1_700_000_000_000 + Int64($0), key: Array("k\($0)".utf8),
        value: [UInt8](repeating: UInt8($0), count: 300),
        headers: [LogHeader(name: "h", value: [1, 2, 3])])
    }
    let fresh = RecordBatch.encode(records)
    let old = RecordBatch.encode(Array(records.reversed()) + records)
    let reused = RecordBatch.encode(records, reusing: old)
    XCTAssertEqual(reused, fresh)
  }
}
