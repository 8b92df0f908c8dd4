import XCTest

@testable import PostgresCDCConnector

/// When the replication thread sends PostgreSQL a standby status update.
final class StandbyFeedbackTests: XCTestCase {
  let start = ContinuousClock.now
  let interval = Duration.seconds(10)

  func testTheFirstReadReportsAtOnceThenOnlyWhenSomethingChanged() {
    var feedback = StandbyFeedback()
    XCTAssertEqual(
      feedback.update(durable: LSN(5), wantReply: false, interval: interval, now: start)?.lsn,
      LSN(5))
    XCTAssertNil(
      feedback.update(
        durable: LSN(5), wantReply: false, interval: interval, now: start + .seconds(1)))
    XCTAssertEqual(
      feedback.update(
        durable: LSN(9), wantReply: false, interval: interval, now: start + .seconds(2))?.lsn,
      LSN(9), "a durable LSN that moved is reported")
  }

  func testAnIdleStreamReportsEveryInterval() {
    var feedback = StandbyFeedback()
    _ = feedback.update(durable: LSN(5), wantReply: false, interval: interval, now: start)
    XCTAssertNil(
      feedback.update(
        durable: LSN(5), wantReply: false, interval: interval, now: start + .seconds(9)))
    XCTAssertNotNil(
      feedback.update(
        durable: LSN(5), wantReply: false, interval: interval, now: start + .seconds(10)))
  }

  func testAKeepaliveAskingForAReplyIsAnsweredOnce() {
    var feedback = StandbyFeedback()
    _ = feedback.update(durable: LSN(5), wantReply: false, interval: interval, now: start)
    feedback.keepalive(replyRequested: false)
    XCTAssertNil(feedback.update(durable: LSN(5), wantReply: false, interval: interval, now: start))
    feedback.keepalive(replyRequested: true)
    XCTAssertNotNil(
      feedback.update(durable: LSN(5), wantReply: false, interval: interval, now: start))
    XCTAssertNil(feedback.update(durable: LSN(5), wantReply: false, interval: interval, now: start))
  }

  func testAHeartbeatAsksTheServerForAReply() {
    var feedback = StandbyFeedback()
    _ = feedback.update(durable: LSN(5), wantReply: false, interval: interval, now: start)
    let update = feedback.update(durable: LSN(5), wantReply: true, interval: interval, now: start)
    XCTAssertEqual(update?.replyRequested, true)
  }
}
