import SluiceKafka
import XCTest

@testable import SluiceKafkaStore

final class GroupMemberStateMachineTests: XCTestCase {
  let a = KafkaTopicPartition("t", 0)
  let b = KafkaTopicPartition("t", 1)

  func testANewMemberJoinsWithTheIdTheCoordinatorRequires() {
    var machine = GroupMemberStateMachine()
    XCTAssertEqual(machine.start(), .sendJoin(memberId: ""))
    XCTAssertEqual(
      machine.joinAnswered(
        errorCode: KafkaErrorCode.memberIDRequired.rawValue, memberId: "m-1", generation: -1,
        leader: "", protocolName: nil, members: []), .sendJoin(memberId: "m-1"))
    XCTAssertEqual(machine.state, .joining)
  }

  func testTheLeaderGetsTheMembersToAssign() {
    var machine = GroupMemberStateMachine()
    _ = machine.start()
    let members = [GroupMemberStateMachine.Member(memberId: "m-1", metadata: [1])]
    XCTAssertEqual(
      machine.joinAnswered(
        errorCode: 0, memberId: "m-1", generation: 3, leader: "m-1", protocolName: "range",
        members: members),
      .sendSync(generation: 3, memberId: "m-1", protocolName: "range", members: members))
    XCTAssertEqual(machine.state, .syncing(generation: 3))
    XCTAssertEqual(machine.syncAnswered(errorCode: 0, assignment: [b, a]), .assigned([a, b]))
    XCTAssertEqual(machine.state, .stable(generation: 3))
    XCTAssertEqual(machine.heartbeatDue(), .sendHeartbeat(generation: 3, memberId: "m-1"))
  }

  func testAFollowerSyncsWithoutAssignments() {
    var machine = GroupMemberStateMachine()
    _ = machine.start()
    XCTAssertEqual(
      machine.joinAnswered(
        errorCode: 0, memberId: "m-2", generation: 4, leader: "m-1", protocolName: "range",
        members: []), .sendSync(generation: 4, memberId: "m-2", protocolName: "range", members: nil)
    )
  }

  func testARebalanceRevokesEverythingThenRejoins() {
    var machine = stableMember(holding: [a, b])
    XCTAssertEqual(machine.heartbeatAnswered(errorCode: 0), .none)
    XCTAssertEqual(
      machine.heartbeatAnswered(errorCode: KafkaErrorCode.rebalanceInProgress.rawValue),
      .revokeAndRejoin([a, b]))
    XCTAssertEqual(machine.assignment, [])
    XCTAssertEqual(machine.heartbeatDue(), .none, "no heartbeat while rejoining")
    XCTAssertEqual(machine.rejoining(), .sendJoin(memberId: "m-1"))
    _ = machine.joinAnswered(
      errorCode: 0, memberId: "m-1", generation: 2, leader: "m-9", protocolName: "range",
      members: [])
    XCTAssertEqual(machine.syncAnswered(errorCode: 0, assignment: [b]), .assigned([b]))
  }

  func testACoordinatorMoveKeepsTheMemberAndFindsTheNewCoordinator() {
    var machine = stableMember(holding: [a, b])
    XCTAssertEqual(
      machine.heartbeatAnswered(errorCode: KafkaErrorCode.notCoordinator.rawValue),
      .findCoordinator)
    XCTAssertEqual(
      machine.heartbeatAnswered(errorCode: KafkaErrorCode.coordinatorNotAvailable.rawValue),
      .findCoordinator)
    XCTAssertEqual(
      machine.heartbeatAnswered(errorCode: KafkaErrorCode.coordinatorLoadInProgress.rawValue),
      .none)
    XCTAssertEqual(machine.assignment, [a, b])
    XCTAssertNotEqual(machine.heartbeatDue(), .none, "still heartbeating")
  }

  func testAnUnknownMemberStartsOverWithoutItsId() {
    var machine = stableMember(holding: [a])
    XCTAssertEqual(
      machine.heartbeatAnswered(errorCode: KafkaErrorCode.unknownMemberID.rawValue),
      .revokeAndRejoin([a]))
    XCTAssertEqual(machine.rejoining(), .sendJoin(memberId: ""))
  }

  func testASyncDuringANewRebalanceJoinsAgain() {
    var machine = GroupMemberStateMachine()
    _ = machine.start()
    _ = machine.joinAnswered(
      errorCode: 0, memberId: "m-1", generation: 1, leader: "m-0", protocolName: "range",
      members: [])
    XCTAssertEqual(
      machine.syncAnswered(errorCode: KafkaErrorCode.rebalanceInProgress.rawValue, assignment: []),
      .rejoinAfterBackoff)
    XCTAssertEqual(machine.state, .joining)
  }

  func testAFatalJoinErrorFails() {
    var machine = GroupMemberStateMachine()
    _ = machine.start()
    guard
      case .fail = machine.joinAnswered(
        errorCode: KafkaErrorCode.groupAuthorizationFailed.rawValue, memberId: "", generation: -1,
        leader: "", protocolName: nil, members: [])
    else { return XCTFail("expected a failure") }
    XCTAssertEqual(machine.state, .left)
  }

  func testLeavingRevokesAndSendsLeaveOnlyForAMember() {
    var fresh = GroupMemberStateMachine()
    XCTAssertEqual(fresh.leave(), .none)
    var machine = stableMember(holding: [a])
    XCTAssertEqual(machine.leave(), .sendLeave(memberId: "m-1", revoked: [a]))
    XCTAssertEqual(machine.state, .left)
    XCTAssertEqual(machine.heartbeatDue(), .none)
  }

  func stableMember(holding partitions: [KafkaTopicPartition]) -> GroupMemberStateMachine {
    var machine = GroupMemberStateMachine()
    _ = machine.start()
    _ = machine.joinAnswered(
      errorCode: 0, memberId: "m-1", generation: 1, leader: "m-1", protocolName: "range",
      members: [])
    _ = machine.syncAnswered(errorCode: 0, assignment: partitions)
    return machine
  }
}

final class PartitionAssignorTests: XCTestCase {
  func testRangeGivesTheFirstMembersTheRemainder() {
    let plan = PartitionAssignor.range.assign(
      subscriptions: ["b": ["t"], "a": ["t"], "c": ["t", "u"]], partitionCounts: ["t": 7, "u": 2])
    XCTAssertEqual(plan["a"], (0..<3).map { KafkaTopicPartition("t", $0) })
    XCTAssertEqual(plan["b"], (3..<5).map { KafkaTopicPartition("t", $0) })
    XCTAssertEqual(
      plan["c"], (5..<7).map { KafkaTopicPartition("t", $0) } + [.init("u", 0), .init("u", 1)])
  }

  func testRoundRobinDealsToSubscribedMembers() {
    let plan = PartitionAssignor.roundRobin.assign(
      subscriptions: ["a": ["t"], "b": ["t", "u"]], partitionCounts: ["t": 3, "u": 2])
    XCTAssertEqual(plan["a"], [.init("t", 0), .init("t", 2)])
    XCTAssertEqual(plan["b"], [.init("t", 1), .init("u", 0), .init("u", 1)])
  }

  func testEveryMemberIsInThePlanEvenWithNothing() {
    let plan = PartitionAssignor.range.assign(
      subscriptions: ["a": ["t"], "b": ["t"]], partitionCounts: ["t": 1])
    XCTAssertEqual(plan["b"], [])
  }
}

extension GroupMemberStateMachineTests {
  /// Changed partitions make a stable member give back what it holds and rejoin; in any other
  /// state the join under way already sees them.
  func testChangedPartitionsRevokeAndRejoinOnlyWhenStable() {
    var machine = GroupMemberStateMachine()
    XCTAssertEqual(machine.partitionsChanged(), .none)
    _ = machine.start()
    XCTAssertEqual(machine.partitionsChanged(), .none, "joining: the join sees the change")
    var stable = stableMember(holding: [a])
    XCTAssertEqual(stable.partitionsChanged(), .revokeAndRejoin([a]))
    XCTAssertEqual(stable.assignment, [])
    XCTAssertEqual(stable.rejoining(), .sendJoin(memberId: "m-1"))
  }
}
