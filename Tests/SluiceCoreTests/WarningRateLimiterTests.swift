import SluiceCore
import XCTest

final class WarningRateLimiterTests: XCTestCase {
  func testEachKindOncePerIntervalWithTheSuppressedCount() {
    let limiter = WarningRateLimiter(interval: .seconds(1))
    XCTAssertEqual(limiter.line("a", "first", nowMs: 0), "first")
    XCTAssertNil(limiter.line("a", "again", nowMs: 10))
    XCTAssertNil(limiter.line("a", "again", nowMs: 999))
    XCTAssertEqual(limiter.line("b", "other kind", nowMs: 20), "other kind")
    XCTAssertEqual(
      limiter.line("a", "later", nowMs: 1000), "later (and 2 more like it since the last one)")
    XCTAssertEqual(limiter.allow("a", nowMs: 2000), 0)
    // Clocks that jump do not trap or stop warnings for good.
    XCTAssertEqual(limiter.allow("a", nowMs: .min), 0)
    XCTAssertEqual(limiter.allow("a", nowMs: .max), 0)
  }
}
