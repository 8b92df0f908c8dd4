import XCTest

@testable import SluiceKafka
@testable import SluiceKafkaBroker

/// The classic group protocol as a value: Empty → PreparingRebalance → CompletingRebalance →
/// Stable, with generations, leaders, timeouts and leaves, driven by a synthetic clock.
final class GroupMembershipTests: XCTestCase {
  private let start = ContinuousClock.now
  private func at(_ ms: Int) -> ContinuousClock.Instant { start + .milliseconds(ms) }
  private let range = GroupMembership.ProtocolChoice(name: "range", metadata: [1])
  private let sticky = GroupMembership.ProtocolChoice(name: "cooperative-sticky", metadata: [2])

  private func join(
    _ group: inout GroupMembership, _ id: String = "", at ms: Int,
    protocols: [GroupMembership.ProtocolChoice]? = nil, session: Int = 10_000
  ) -> (String, [GroupMembership.Action]) {
    group.join(
      memberID: id, instanceID: nil, clientID: "c", clientHost: "h", protocolType: "consumer",
      protocols: protocols ?? [range], sessionTimeout: .milliseconds(Int64(session)),
      rebalanceTimeout: .seconds(30), now: at(ms))
  }

  private func joins(_ actions: [GroupMembership.Action]) -> [GroupMembership.JoinAnswer] {
    actions.compactMap { if case .answerJoin(let a) = $0 { a } else { nil } }
  }

  func testAFreshGroupCompletesAfterTheShortInitialDelayWithTheFirstMemberLeading() {
    var g = GroupMembership(groupID: "g", initialDelay: .milliseconds(300))
    let (a, none) = join(&g, at: 0)
    XCTAssertTrue(none.isEmpty, "the answer waits for the initial delay")
    XCTAssertEqual(g.phase, .preparingRebalance)
    let (b, _) = join(&g, at: 100)
    XCTAssertTrue(g.tick(now: at(350)).isEmpty, "a new member extends the delay")
    let answers = joins(g.tick(now: at(401)))
    XCTAssertEqual(answers.map(\.memberID), [a, b])
    XCTAssertEqual(g.phase, .completingRebalance)
    XCTAssertEqual(g.generation, 1)
    XCTAssertEqual(answers[0].leader, a)
    XCTAssertEqual(answers[0].members.map(\.id), [a, b], "the leader gets every subscription")
    XCTAssertTrue(answers[1].members.isEmpty, "a follower gets none")
    XCTAssertEqual(answers[0].protocolName, "range")
  }

  func testTheLeadersSyncHandsEveryMemberItsAssignment() {
    var g = GroupMembership(groupID: "g", initialDelay: .zero)
    let (a, _) = join(&g, at: 0)
    _ = g.tick(now: at(1))
    let (b, joined) = join(&g, at: 2)
    XCTAssertTrue(joined.isEmpty, "a's rejoin is awaited")
    let (_, rejoined) = join(&g, a, at: 3)
    XCTAssertEqual(joins(rejoined).count, 2)
    XCTAssertEqual(g.generation, 2)
    XCTAssertTrue(g.sync(memberID: b, generation: 2, assignments: [:], now: at(4)).isEmpty)
    let synced = g.sync(memberID: a, generation: 2, assignments: [a: [7], b: [8]], now: at(5))
    XCTAssertEqual(
      Set(synced),
      [
        .answerSync(memberID: b, error: .none, assignment: [8]),
        .answerSync(memberID: a, error: .none, assignment: [7]),
      ])
    XCTAssertEqual(g.phase, .stable)
    // Stable: a sync is answered at once; a wrong generation is illegal.
    XCTAssertEqual(
      g.sync(memberID: b, generation: 2, assignments: [:], now: at(6)),
      [.answerSync(memberID: b, error: .none, assignment: [8])])
    XCTAssertEqual(
      g.sync(memberID: b, generation: 1, assignments: [:], now: at(6)),
      [.answerSync(memberID: b, error: .illegalGeneration, assignment: [])])
  }

  func testAJoinToAStableGroupRebalancesAndHeartbeatsSayRebalanceInProgress() {
    var g = stableGroup(members: 2)
    let ids = g.membersInOrder.map(\.id)
    XCTAssertEqual(g.heartbeat(memberID: ids[1], generation: g.generation, now: at(10)), .none)
    let (c, _) = join(&g, at: 11)
    XCTAssertEqual(g.phase, .preparingRebalance)
    XCTAssertEqual(g.heartbeat(memberID: ids[1], generation: 1, now: at(12)), .rebalanceInProgress)
    XCTAssertEqual(g.heartbeat(memberID: "nobody", generation: 1, now: at(12)), .unknownMemberID)
    _ = join(&g, ids[0], at: 13)
    let done = joins(join(&g, ids[1], at: 14).1)
    XCTAssertEqual(done.map(\.memberID).sorted(), [ids[0], ids[1], c].sorted())
    XCTAssertEqual(g.generation, 2)
  }

  func testAMemberThatDoesNotRejoinIsDroppedAtTheRebalanceTimeout() {
    var g = stableGroup(members: 2)
    let ids = g.membersInOrder.map(\.id)
    _ = join(&g, ids[0], at: 100, protocols: [range, sticky])
    // The other keeps its session alive (and is told a rebalance is on) but never rejoins.
    for ms in [9_000, 18_000, 27_000] {
      XCTAssertEqual(
        g.heartbeat(memberID: ids[1], generation: 1, now: at(ms)), .rebalanceInProgress)
    }
    XCTAssertTrue(g.tick(now: at(28_000)).isEmpty)
    let answers = joins(g.tick(now: at(30_200)))
    XCTAssertEqual(answers.map(\.memberID), [ids[0]])
    XCTAssertEqual(g.membersInOrder.map(\.id), [ids[0]])
  }

  func testAnExpiredSessionAndALeaveEachRebalanceTheRest() {
    var g = stableGroup(members: 3)
    let ids = g.membersInOrder.map(\.id)
    for id in ids.dropFirst() {
      _ = g.heartbeat(memberID: id, generation: g.generation, now: at(9_000))
    }
    _ = g.tick(now: at(10_500))
    XCTAssertEqual(g.membersInOrder.map(\.id), Array(ids.dropFirst()), "the silent member is out")
    XCTAssertEqual(g.phase, .preparingRebalance)
    let (unknown, _) = g.leave(memberIDs: [ids[1], "ghost"], now: at(10_600))
    XCTAssertEqual(unknown, ["ghost"])
    let answers = joins(join(&g, ids[2], at: 10_700).1)
    XCTAssertEqual(answers.map(\.memberID), [ids[2]])
    XCTAssertEqual(answers.first?.leader, ids[2], "a new leader when the old one left")
    _ = g.leave(memberIDs: [ids[2]], now: at(10_800))
    XCTAssertEqual(g.phase, .empty)
  }

  func testProtocolsMustOverlapAndTheCommonFavouriteWins() {
    var g = GroupMembership(groupID: "g", initialDelay: .milliseconds(10))
    _ = join(&g, at: 0, protocols: [sticky, range])
    let (_, refused) = join(&g, at: 1, protocols: [.init(name: "roundrobin", metadata: [])])
    XCTAssertEqual(joins(refused).first?.error, .inconsistentGroupProtocol)
    _ = join(&g, at: 2, protocols: [range, sticky])
    let answers = joins(g.tick(now: at(30)))
    XCTAssertEqual(answers.count, 2)
    XCTAssertEqual(
      answers.first?.protocolName, "cooperative-sticky", "ties go to the leader's order")
  }

  func testCommitsNeedTheCurrentGenerationOrAnEmptyGroup() {
    var empty = GroupMembership(groupID: "g")
    XCTAssertEqual(empty.commitError(memberID: "", generation: -1), .none)
    let g = stableGroup(members: 1)
    let id = g.membersInOrder[0].id
    XCTAssertEqual(g.commitError(memberID: id, generation: g.generation), .none)
    XCTAssertEqual(g.commitError(memberID: id, generation: g.generation - 1), .illegalGeneration)
    XCTAssertEqual(g.commitError(memberID: "", generation: -1), .unknownMemberID)
    _ = empty.tick(now: at(0))
  }

  /// A group of `members` that joined together and reached Stable at generation 1 at 60 ms.
  private func stableGroup(members: Int) -> GroupMembership {
    var g = GroupMembership(groupID: "g", initialDelay: .milliseconds(50))
    var ids: [String] = []
    for _ in 0..<members { ids.append(join(&g, at: 0).0) }
    _ = g.tick(now: at(60))
    XCTAssertEqual(g.generation, 1)
    _ = g.sync(memberID: ids[0], generation: g.generation, assignments: [:], now: at(60))
    XCTAssertEqual(g.phase, .stable)
    return g
  }
}

extension GroupMembership.Action: Hashable {
  public func hash(into hasher: inout Hasher) {
    switch self {
    case .answerJoin(let a): hasher.combine(a.memberID)
    case .answerSync(let m, let e, let a):
      hasher.combine(m)
      hasher.combine(e)
      hasher.combine(a)
    }
  }
}
