import SluiceCore
import XCTest

/// ``Backoff``: the delays double up to the cap, the jitter strategy bounds each delay, a
/// healthy run starts the schedule over.
final class BackoffTests: XCTestCase {
  func testBackoffDoublesUpToTheCap() {
    var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
    let delays = (0..<6).map { _ in backoff.next() }
    XCTAssertTrue(delays[0] >= .milliseconds(80) && delays[0] <= .milliseconds(120))
    XCTAssertTrue(delays[1] >= .milliseconds(160) && delays[1] <= .milliseconds(240))
    XCTAssertTrue(delays[5] <= .milliseconds(1200) && delays[5] >= .milliseconds(800))
    backoff.reset()
    XCTAssertTrue(backoff.next() <= .milliseconds(120))
  }

  func testARestartAfterAHealthyRunStartsTheBackoffOver() {
    var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
    for _ in 0..<6 { _ = backoff.next() }
    XCTAssertTrue(backoff.next(afterRunning: .seconds(5)) >= .milliseconds(800), "a quick failure")
    XCTAssertTrue(
      backoff.next(afterRunning: .seconds(61)) <= .milliseconds(120), "after a healthy run")
    XCTAssertTrue(backoff.next(afterRunning: .seconds(1)) >= .milliseconds(160))
  }

  func testUpToFullJitterNeverExceedsTheDelayAndNeverHalvesItMore() {
    let backoff = Backoff(
      initial: .milliseconds(100), maximum: .seconds(1), jitter: .upToFull)
    for _ in 0..<50 {
      let first = backoff.delay(beforeRetry: 0)
      XCTAssert(first >= .milliseconds(50) && first <= .milliseconds(100), "\(first)")
      let third = backoff.delay(beforeRetry: 2)
      XCTAssert(third >= .milliseconds(200) && third <= .milliseconds(400), "\(third)")
      let late = backoff.delay(beforeRetry: 40)
      XCTAssert(late >= .milliseconds(500) && late <= .seconds(1), "\(late)")
    }
  }
}
