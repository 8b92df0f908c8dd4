import SluiceCore
import XCTest

@testable import HTTPSinkConnector

/// The scheduler decides which requests may run; these check its two promises: never more
/// than `max_in_flight`, and never a request before an unfinished earlier one of its key.
final class DeliverySchedulerTests: XCTestCase {
  let tp = TopicPartition("t", 0)

  func keys(_ names: [String?]) -> [[OrderKey]] {
    names.map { name in name.map { [OrderKey(partition: tp, key: Array($0.utf8))] } ?? [] }
  }

  func testStartsUpToTheLimitInOrder() {
    var s = DeliveryScheduler(keys: keys(["a", "b", "c", "d", "e"]), maxInFlight: 3)
    XCTAssertEqual(s.startable(), [0, 1, 2])
    XCTAssertEqual(s.startable(), [])
    s.completed(1)
    XCTAssertEqual(s.startable(), [3])
    s.completed(0)
    s.completed(2)
    XCTAssertEqual(s.startable(), [4])
    s.completed(3)
    s.completed(4)
    XCTAssertTrue(s.finished)
  }

  func testAKeyWaitsForItsEarlierRequestEvenWhileThatOneRetries() {
    var s = DeliveryScheduler(keys: keys(["a", "a", "b", "a", "c"]), maxInFlight: 10)
    XCTAssertEqual(s.startable(), [0, 2, 4])
    s.willRetry(0)
    // Request 0 waits to retry: 1 and 3 (key a) must still wait.
    XCTAssertEqual(s.startable(), [])
    s.retryStarted(0)
    s.completed(0)
    XCTAssertEqual(s.startable(), [1])
    s.completed(1)
    XCTAssertEqual(s.startable(), [3])
    s.completed(2)
    s.completed(3)
    s.completed(4)
    XCTAssertTrue(s.finished)
  }

  func testRecordsWithoutKeysRunFreely() {
    var s = DeliveryScheduler(keys: keys([nil, nil, "a", "a"]), maxInFlight: 10)
    XCTAssertEqual(s.startable(), [0, 1, 2])
  }

  func testPartitionOrderingRunsOneAtATime() {
    let k = [[OrderKey]](repeating: [OrderKey(partition: tp)], count: 3)
    var s = DeliveryScheduler(keys: k, maxInFlight: 8)
    XCTAssertEqual(s.startable(), [0])
    s.completed(0)
    XCTAssertEqual(s.startable(), [1])
  }

  func testRetryDelayGrowsIsCappedJitteredAndHonoursRetryAfter() {
    let retry = HTTPSinkConfig.Retry(
      maxAttempts: 10, backoff: .milliseconds(100), maxBackoff: .seconds(1))
    for _ in 0..<50 {
      let first = RetryDelay.after(attempt: 1, retry: retry, retryAfter: nil)
      XCTAssert(first >= .milliseconds(50) && first <= .milliseconds(100), "\(first)")
      let third = RetryDelay.after(attempt: 3, retry: retry, retryAfter: nil)
      XCTAssert(third >= .milliseconds(200) && third <= .milliseconds(400), "\(third)")
      let late = RetryDelay.after(attempt: 20, retry: retry, retryAfter: nil)
      XCTAssert(late >= .milliseconds(500) && late <= .milliseconds(1000), "\(late)")
      let told = RetryDelay.after(attempt: 1, retry: retry, retryAfter: .seconds(2))
      XCTAssertEqual(told, .seconds(2))
    }
  }

  func testOutcomes() {
    func outcome(_ status: Int, _ error: String? = nil) -> HTTPOutcome {
      HTTPOutcome(CurlResponse(status: status, transportError: error, body: []), unbuildable: false)
    }
    XCTAssertEqual(outcome(200), .delivered)
    XCTAssertEqual(outcome(204), .delivered)
    XCTAssertEqual(outcome(408), .retry)
    XCTAssertEqual(outcome(429), .retry)
    XCTAssertEqual(outcome(503), .retry)
    XCTAssertEqual(outcome(0, "Timeout was reached"), .retry)
    XCTAssertEqual(outcome(400), .rejected)
    XCTAssertEqual(outcome(404), .rejected)
    XCTAssertEqual(outcome(301), .rejected)
  }
}
