import XCTest

@testable import SluiceCore

/// A sink's delivery decisions without a sink: retries of a refused record, then the
/// dead-letter topic or a failed task; endless retries of a target that is down, reported once
/// per distinct error; a stop at shutdown.
final class SinkDeliveryTests: XCTestCase {
  private func record(_ offset: Int64) -> Record {
    Record(topic: "t", partition: 0, offset: offset, timestamp: 0, key: nil, value: [1])
  }

  private func policy(tolerateAll: Bool, retries: Int = 2) -> SinkErrorPolicy {
    SinkErrorPolicy(
      tolerateAll: tolerateAll, retries: retries, initialBackoff: .milliseconds(100),
      maximumBackoff: .milliseconds(400))
  }

  func testARefusedRecordIsRetriedThenDeadLettered() {
    var delivery = SinkDelivery(policy: policy(tolerateAll: true))
    guard case .retryRecord(let first) = delivery.refused(record(5)) else {
      return XCTFail("first refusal is retried")
    }
    XCTAssertEqual(first.components.seconds, 0)
    XCTAssertTrue((.milliseconds(80)...(.milliseconds(120))).contains(first), "\(first)")
    guard case .retryRecord(let second) = delivery.refused(record(5)) else {
      return XCTFail("second refusal is retried")
    }
    XCTAssertTrue((.milliseconds(160)...(.milliseconds(240))).contains(second), "backs off: \(second)")
    XCTAssertEqual(delivery.refused(record(5)), .deadLetter(attempts: 3))
    // The next refused record starts over, backoff included.
    guard case .retryRecord(let next) = delivery.refused(record(6)) else {
      return XCTFail("a new record is retried")
    }
    XCTAssertTrue((.milliseconds(80)...(.milliseconds(120))).contains(next), "\(next)")
  }

  func testWithoutToleranceTheTaskFailsAfterTheRetries() {
    var delivery = SinkDelivery(policy: policy(tolerateAll: false, retries: 1))
    guard case .retryRecord = delivery.refused(record(1)) else { return XCTFail() }
    XCTAssertEqual(delivery.refused(record(1)), .fail(attempts: 2))
  }

  func testAnotherRecordRefusedCountsFromOne() {
    var delivery = SinkDelivery(policy: policy(tolerateAll: true, retries: 1))
    guard case .retryRecord = delivery.refused(record(1)) else { return XCTFail() }
    guard case .retryRecord = delivery.refused(record(2)) else {
      return XCTFail("record 2's first refusal is its first attempt")
    }
    XCTAssertEqual(delivery.refused(record(2)), .deadLetter(attempts: 2))
  }

  func testNoRetriesMeansStraightToTheDeadLetterTopic() {
    var delivery = SinkDelivery(policy: policy(tolerateAll: true, retries: 0))
    XCTAssertEqual(delivery.refused(record(1)), .deadLetter(attempts: 1))
  }

  func testATargetThatIsDownIsRetriedForeverReportedOncePerError() {
    var delivery = SinkDelivery(policy: policy(tolerateAll: false))
    var reports: [Bool] = []
    var delays: [Duration] = []
    for message in ["refused", "refused", "refused", "timeout", "timeout"] {
      guard case .retryBatch(let delay, let report) = delivery.failed(message, shuttingDown: false)
      else { return XCTFail("retried") }
      reports.append(report)
      delays.append(delay)
    }
    XCTAssertEqual(reports, [true, false, false, true, false])
    XCTAssertLessThanOrEqual(delays.max()!, .milliseconds(480), "capped at the maximum (+20%)")
    XCTAssertGreaterThanOrEqual(delays.last!, .milliseconds(320), "kept backing off: \(delays)")
    XCTAssertTrue(delivery.delivered(), "a success after failures is a recovery")
    XCTAssertFalse(delivery.delivered())
    guard case .retryBatch(_, let report) = delivery.failed("timeout", shuttingDown: false) else {
      return XCTFail()
    }
    XCTAssertTrue(report, "the same error after a recovery is reported again")
  }

  func testAtShutdownAFailedBatchIsLeftToTheNextRun() {
    var delivery = SinkDelivery(policy: policy(tolerateAll: true))
    XCTAssertEqual(delivery.failed("refused", shuttingDown: true), .stop)
  }
}
