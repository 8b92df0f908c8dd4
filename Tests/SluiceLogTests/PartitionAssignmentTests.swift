import SluiceCore
import XCTest

@testable import SluiceLog

/// The embedded store's consumer-group state machine: who reads which partition, and a
/// partition handed over only once its owner has let go of it.
final class PartitionAssignmentTests: XCTestCase {
  private let six = (0..<6).map { TopicPartition("t", $0) }

  func testASingleMemberGetsEveryPartition() {
    var group = PartitionAssignment()
    group.join("0", topics: ["t"])
    XCTAssertEqual(group.poll("0", partitions: six), .init(assigned: six))
    XCTAssertEqual(group.poll("0", partitions: six), .init(), "nothing changes after")
  }

  func testMembersShareInTurnInNumericOrderAsTaskIndexesDid() {
    var group = PartitionAssignment()
    for member in ["10", "2", "0"] { group.join(member, topics: ["t"]) }
    let target = group.target((0..<12).map { TopicPartition("t", $0) })
    // Members sorted 0, 2, 10 (numerically, not "0", "10", "2").
    XCTAssertEqual(target[TopicPartition("t", 0)], "0")
    XCTAssertEqual(target[TopicPartition("t", 1)], "2")
    XCTAssertEqual(target[TopicPartition("t", 2)], "10")
    XCTAssertEqual(target[TopicPartition("t", 3)], "0")
  }

  func testAPartitionMovesOnlyAfterItsOwnerAcknowledgesTheRevocation() {
    var group = PartitionAssignment()
    group.join("0", topics: ["t"])
    _ = group.poll("0", partitions: six)
    group.join("1", topics: ["t"])
    // The newcomer gets nothing while member 0 still owns everything.
    XCTAssertEqual(group.poll("1", partitions: six), .init())
    let odd = [1, 3, 5].map { TopicPartition("t", $0) }
    XCTAssertEqual(group.poll("0", partitions: six), .init(revoked: odd))
    XCTAssertEqual(group.poll("1", partitions: six), .init(), "not acknowledged yet")
    // Member 0's next poll is its acknowledgement.
    XCTAssertEqual(group.poll("0", partitions: six), .init(released: odd))
    XCTAssertEqual(group.poll("1", partitions: six), .init(assigned: odd))
    XCTAssertEqual(Set(group.owners.values), ["0", "1"])
  }

  func testALeavingMembersPartitionsGoToTheOthersAtOnce() {
    var group = PartitionAssignment()
    group.join("0", topics: ["t"])
    group.join("1", topics: ["t"])
    _ = group.poll("0", partitions: six)
    _ = group.poll("1", partitions: six)
    XCTAssertEqual(group.owners.filter { $0.value == "1" }.count, 3)
    group.leave("1")
    XCTAssertEqual(
      group.poll("0", partitions: six).assigned, [1, 3, 5].map { TopicPartition("t", $0) })
    XCTAssertEqual(group.owners.count, 6)
  }

  func testNewPartitionsAreAssignedAndTopicsOnlyToTheirSubscribers() {
    var group = PartitionAssignment()
    group.join("0", topics: ["a"])
    group.join("1", topics: ["a", "b"])
    let partitions = [TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)]
    XCTAssertEqual(group.poll("0", partitions: partitions).assigned, [TopicPartition("a", 0)])
    XCTAssertEqual(
      group.poll("1", partitions: partitions).assigned,
      [TopicPartition("a", 1), TopicPartition("b", 0)])
    let grown = partitions + [TopicPartition("b", 1)]
    XCTAssertEqual(group.poll("1", partitions: grown).assigned, [TopicPartition("b", 1)])
    XCTAssertEqual(group.poll("0", partitions: grown), .init())
  }
}
