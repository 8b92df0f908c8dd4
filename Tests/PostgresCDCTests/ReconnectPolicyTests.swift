import XCTest

@testable import PostgresCDCConnector

/// When the CDC task retries a stopped stream itself and when it fails.
final class ReconnectPolicyTests: XCTestCase {
  let start = ContinuousClock.now

  func testSendAndSetupFailuresFailTheTaskAtOnce() {
    var policy = ReconnectPolicy()
    _ = policy.streamed()
    XCTAssertEqual(policy.decide(.send, at: start), .fail)
    XCTAssertEqual(policy.decide(.setupOrSnapshot, at: start), .fail)
  }

  func testAFirstConnectionThatFailsFailsTheTask() {
    var policy = ReconnectPolicy()
    XCTAssertEqual(policy.decide(.connection(slotBusy: false), at: start), .fail)
  }

  func testABlipAfterStreamingIsRetriedWithAWarningOnlyTheFirstTime() throws {
    var policy = ReconnectPolicy()
    XCTAssertFalse(policy.streamed())
    guard case .retry(let first, warn: true) = policy.decide(.connection(slotBusy: false), at: start)
    else { return XCTFail("the first blip is retried with a warning") }
    guard
      case .retry(let second, warn: false) = policy.decide(
        .connection(slotBusy: false), at: start + .seconds(1))
    else { return XCTFail("a second retry of the same outage is quiet") }
    // 200 ms, then 400 ms, each ±20%.
    XCTAssertLessThanOrEqual(first, .milliseconds(240))
    XCTAssertGreaterThanOrEqual(second, .milliseconds(320))
    XCTAssertTrue(policy.streamed(), "streaming again ends the outage")
    XCTAssertFalse(policy.isFailing)
  }

  func testAnOutageLongerThanTheWindowFailsTheTask() {
    var policy = ReconnectPolicy()
    _ = policy.streamed()
    XCTAssertNotEqual(policy.decide(.connection(slotBusy: false), at: start), .fail)
    XCTAssertNotEqual(
      policy.decide(.connection(slotBusy: false), at: start + .seconds(14)), .fail)
    XCTAssertEqual(
      policy.decide(.connection(slotBusy: false), at: start + ReconnectPolicy.reconnectWindow),
      .fail)
  }

  func testABusySlotIsWaitedForAtStartUpForItsOwnWindow() {
    var policy = ReconnectPolicy()
    XCTAssertNotEqual(policy.decide(.connection(slotBusy: true), at: start), .fail)
    XCTAssertNotEqual(policy.decide(.connection(slotBusy: true), at: start + .seconds(59)), .fail)
    XCTAssertEqual(
      policy.decide(.connection(slotBusy: true), at: start + ReconnectPolicy.slotBusyWindow),
      .fail)
  }

  func testStreamingAgainStartsTheNextOutageFromTheFirstDelay() {
    var policy = ReconnectPolicy()
    _ = policy.streamed()
    for i in 0..<5 {
      _ = policy.decide(.connection(slotBusy: false), at: start + .milliseconds(i))
    }
    _ = policy.streamed()
    guard
      case .retry(let delay, warn: true) = policy.decide(
        .connection(slotBusy: false), at: start + .seconds(100))
    else { return XCTFail("a new outage is retried") }
    XCTAssertLessThanOrEqual(delay, .milliseconds(240))
  }
}
