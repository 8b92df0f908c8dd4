import XCTest

@testable import PostgresCDCConnector

/// When the replication thread sends PostgreSQL a standby status update.
final class StandbyFeedbackTests: XCTestCase {
  let start = ContinuousClock.now

  func testTheFirstReadReportsAtOnceThenOnlyWhenSomethingChanged() {
    var feedback = StandbyFeedback()
    XCTAssertEqual(
      feedback.update(durable: LSN(5), wantReply: false, now: start)?.lsn,
      LSN(5))
    XCTAssertNil(
      feedback.update(
        durable: LSN(5), wantReply: false, now: start + .seconds(1)))
    XCTAssertEqual(
      feedback.update(
        durable: LSN(9), wantReply: false, now: start + .seconds(2))?.lsn,
      LSN(9), "a durable LSN that moved is reported")
  }

  func testAnIdleStreamReportsEveryInterval() {
    var feedback = StandbyFeedback()
    _ = feedback.update(durable: LSN(5), wantReply: false, now: start)
    XCTAssertNil(
      feedback.update(
        durable: LSN(5), wantReply: false, now: start + .seconds(9)))
    XCTAssertNotNil(
      feedback.update(
        durable: LSN(5), wantReply: false, now: start + .seconds(10)))
  }

  func testAKeepaliveAskingForAReplyIsAnsweredOnce() {
    var feedback = StandbyFeedback()
    _ = feedback.update(durable: LSN(5), wantReply: false, now: start)
    feedback.keepalive(replyRequested: false)
    XCTAssertNil(feedback.update(durable: LSN(5), wantReply: false, now: start))
    feedback.keepalive(replyRequested: true)
    XCTAssertNotNil(
      feedback.update(durable: LSN(5), wantReply: false, now: start))
    XCTAssertNil(feedback.update(durable: LSN(5), wantReply: false, now: start))
  }

  func testAHeartbeatAsksTheServerForAReply() {
    var feedback = StandbyFeedback()
    _ = feedback.update(durable: LSN(5), wantReply: false, now: start)
    let update = feedback.update(durable: LSN(5), wantReply: true, now: start)
    XCTAssertEqual(update?.replyRequested, true)
  }
}

extension StandbyFeedbackTests {
  func testWhileWaitingForRoomTheThreadReportsEverySecond() {
    var feedback = StandbyFeedback()
    _ = feedback.update(durable: LSN(5), wantReply: false, now: start)
    XCTAssertNil(feedback.update(durable: LSN(5), wantReply: false, now: start + .seconds(1)))
    XCTAssertNotNil(
      feedback.update(
        durable: LSN(5), wantReply: false, waitingForRoom: true, now: start + .seconds(1)),
      "it reads no keepalives meanwhile, so cannot see one asking for a reply")
  }
}
