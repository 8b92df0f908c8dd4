import Dispatch
import Foundation
import XCTest

@testable import SluiceCore

/// The queue blocking syscalls run on: its own serial queue, never the caller's (cooperative)
/// thread, in submission order, with errors thrown to the caller.
final class BlockingQueueTests: XCTestCase {
  func testWorkRunsOnTheQueueOfItsOwnInOrder() async throws {
    let queue = BlockingQueue(label: "sluice.test-blocking")
    XCTAssertFalse(queue.isCurrent, "the test runs on the cooperative pool")
    let onQueue = try await queue.run { queue.isCurrent }
    XCTAssertTrue(onQueue, "the work runs on the queue, not on a thread of the cooperative pool")

    // Many callers at once: each item runs alone, so none sees another half done.
    let order = OrderBox()
    try await withThrowingTaskGroup(of: Void.self) { group in
      for n in 0..<50 {
        group.addTask { try await queue.run { order.appendAlone(n) } }
      }
      try await group.waitForAll()
    }
    XCTAssertEqual(order.values.sorted(), Array(0..<50))
    XCTAssertEqual(order.overlaps, 0, "work items ran at the same time")
  }

  func testAnErrorOfTheWorkIsThrownToTheCaller() async {
    let queue = BlockingQueue(label: "sluice.test-blocking")
    do {
      try await queue.run { throw OffsetStoreError(message: "disk full") }
      XCTFail("the error was not thrown")
    } catch {
      XCTAssertEqual("\(error)", "disk full")
    }
  }
}

/// Records work items and whether any two ran at once.
private final class OrderBox: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [Int] = []
  private var running = 0
  private(set) var overlaps = 0

  func appendAlone(_ n: Int) {
    lock.withLock {
      running += 1
      if running > 1 { overlaps += 1 }
    }
    usleep(200)
    lock.withLock {
      running -= 1
      list.append(n)
    }
  }

  var values: [Int] { lock.withLock { list } }
}
