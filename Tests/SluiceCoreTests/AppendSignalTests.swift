import SluiceCore
import XCTest

/// The store's append signal: a caught-up reader sleeps until the next append or its timeout.
final class AppendSignalTests: XCTestCase {
  func testAReaderBehindTheVersionDoesNotWait() async {
    let signal = AppendSignal()
    signal.signal()
    let clock = ContinuousClock()
    let start = clock.now
    let version = await signal.wait(after: 0, timeout: .seconds(10))
    XCTAssertEqual(version, 1)
    XCTAssertLessThan(clock.now - start, .seconds(1))
  }

  func testAnAppendWakesEveryWaiter() async {
    let signal = AppendSignal()
    let clock = ContinuousClock()
    let start = clock.now
    async let a = signal.wait(after: 0, timeout: .seconds(30))
    async let b = signal.wait(after: 0, timeout: .seconds(30))
    try? await Task.sleep(for: .milliseconds(100))
    signal.signal()
    let (va, vb) = await (a, b)
    XCTAssertEqual([va, vb], [1, 1])
    XCTAssertLessThan(clock.now - start, .seconds(10), "woken by the append, not the timeout")
  }

  func testWithoutAnAppendTheTimeoutEndsTheWait() async {
    let signal = AppendSignal()
    let clock = ContinuousClock()
    let start = clock.now
    let version = await signal.wait(after: 0, timeout: .milliseconds(200))
    XCTAssertEqual(version, 0)
    XCTAssertGreaterThanOrEqual(clock.now - start, .milliseconds(200))
  }

  func testManyRoundsOfWaitsAndSignalsNeitherHangNorMissAnAppend() async {
    // Signals racing waits and timeouts: every wait ends, and sees every append made before
    // it returned.
    let signal = AppendSignal()
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        for _ in 0..<500 {
          signal.signal()
          await Task.yield()
        }
      }
      for _ in 0..<4 {
        group.addTask {
          var seen: UInt64 = 0
          while seen < 500 {
            let now = await signal.wait(after: seen, timeout: .milliseconds(5))
            XCTAssertGreaterThanOrEqual(now, seen)
            seen = now
          }
        }
      }
    }
    XCTAssertEqual(signal.version, 500)
  }
}
