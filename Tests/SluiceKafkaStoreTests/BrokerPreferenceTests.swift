import XCTest

@testable import SluiceKafkaStore

final class BrokerPreferenceTests: XCTestCase {
  func testWithoutHistoryNodesGoInIdOrder() {
    XCTAssertEqual(BrokerPreference().order([3, 1, 2]), [1, 2, 3])
  }

  func testTheLastToAnswerGoesFirstAndAFailedOneLast() {
    var preference = BrokerPreference()
    preference.failed(1)
    preference.answered(3)
    XCTAssertEqual(preference.order([1, 2, 3]), [3, 2, 1])
  }

  func testFailedNodesAreTriedTheLongestAgoFirst() {
    var preference = BrokerPreference()
    let now = ContinuousClock.now
    preference.failed(2, at: now)
    preference.failed(1, at: now + .seconds(1))
    XCTAssertEqual(preference.order([1, 2, 3]), [3, 2, 1])
  }

  func testANodeThatAnswersAgainIsNoLongerFailed() {
    var preference = BrokerPreference()
    preference.failed(1)
    preference.answered(2)
    preference.failed(2)
    preference.answered(1)
    XCTAssertEqual(preference.order([1, 2, 3]), [1, 3, 2])
    XCTAssertEqual(preference.lastAnswered, 1)
  }
}
