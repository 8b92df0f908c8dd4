import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// The snapshot's bookkeeping without a database: positions, ending a segment after a crash,
/// and which segment owns a streamed change.
final class SnapshotProgressTests: XCTestCase {
  let tables = [
    QualifiedName(schema: "public", table: "a"), QualifiedName(schema: "public", table: "b"),
    QualifiedName(schema: "public", table: "c"),
  ]

  func point(_ segment: UInt64, _ sequence: UInt64, _ table: Int, _ key: String?) -> SnapshotPoint {
    SnapshotPoint(base: 0x100, segment: segment, sequence: sequence, table: table, key: key)
  }

  func testPositionsRoundTripAndSortBeforeStreamedChanges() throws {
    var progress = SnapshotProgress(base: 0x100, tables: tables)
    progress.open = 0x180
    let key = #"{"id":7,"name":"a|b~c"}"#
    let first = point(0x180, 1, 0, key).sourcePosition(progress: nil)
    let last = point(0x180, 2, 1, key).sourcePosition(progress: progress)
    XCTAssertEqual(CDCPosition(first), .snapshot(point(0x180, 1, 0, key), nil))
    XCTAssertEqual(CDCPosition(last), .snapshot(point(0x180, 2, 1, key), progress))
    XCTAssertLessThan(first, last)
    // A later segment sorts after an earlier one whatever its sequence numbers.
    XCTAssertLessThan(last, point(0x200, 1, 0, nil).sourcePosition(progress: nil))
    // Every snapshot position sorts before a change committed at or after the base LSN.
    let change = ChangePosition(commitLSN: LSN(0x100), index: 0)
    XCTAssertLessThan(
      point(0xFFFF_FFFF, 9, 2, key).sourcePosition(progress: nil), change.sourcePosition)
    let withProgress = SourcePosition(
      change.sourcePosition.text + "|" + CDCPosition.encode(progress))
    XCTAssertEqual(CDCPosition(withProgress), .change(change, progress))
    XCTAssertNil(CDCPosition(SourcePosition("garbage")))
  }

  func testStateAfterTheSeparatorIsNotCompared() {
    let plain = SourcePosition("0000000000000100-00000001")
    let carrying = SourcePosition("0000000000000100-00000001|state")
    XCTAssertFalse(plain < carrying)
    XCTAssertFalse(carrying < plain)
    XCTAssertTrue(carrying <= plain, "a replay that carries state is still dropped")
    XCTAssertLessThan(carrying, SourcePosition("0000000000000100-00000002"))
  }

  func testACrashWithNothingPastTheCommittedPointEndsTheSegmentThere() {
    var progress = SnapshotProgress(base: 0x100, tables: tables)
    progress.open = 0x180
    let resume = progress.endOpenSegment(committed: point(0x180, 40, 1, #"{"id":40}"#), tails: [])
    XCTAssertEqual(resume, .init(table: 1, afterKey: #"{"id":40}"#))
    XCTAssertNil(progress.open)
    XCTAssertEqual(
      progress.closed, [.init(lsn: 0x180, wholeTables: 1, otherKeys: #"{"id":40}"#, keys: [:])])
  }

  func testPartitionsThatGotPartOfTheCutSendOwnUpToTheirLastRecord() {
    var progress = SnapshotProgress(base: 0x100, tables: tables)
    progress.open = 0x180
    let tails: [SnapshotProgress.Tail] = [
      .init(partition: 0, point: point(0x180, 44, 1, #"{"id":44}"#)),
      .init(partition: 1, point: point(0x180, 40, 1, #"{"id":40}"#)),  // the committed one
      .init(partition: 2, point: point(0x180, 12, 0, #"{"id":900}"#)),  // an older table
    ]
    let resume = progress.endOpenSegment(
      committed: point(0x180, 40, 1, #"{"id":40}"#), tails: tails)
    XCTAssertEqual(resume, .init(table: 1, afterKey: #"{"id":40}"#))
    XCTAssertEqual(
      progress.closed,
      [.init(lsn: 0x180, wholeTables: 1, otherKeys: #"{"id":40}"#, keys: [0: #"{"id":44}"#])])
    XCTAssertEqual(progress.boundaryKeys(inTable: 1), [#"{"id":44}"#, #"{"id":40}"#])
    XCTAssertEqual(progress.boundaryKeys(inTable: 1, partition: 0), [#"{"id":44}"#])
    XCTAssertEqual(progress.boundaryKeys(inTable: 1, partition: 2), [#"{"id":40}"#])
    XCTAssertEqual(progress.boundaryKeys(inTable: 2), [])
  }

  func testACutSendOfALaterTableEndsTheCommittedTableWhole() {
    var progress = SnapshotProgress(base: 0x100, tables: tables)
    progress.open = 0x180
    let tails: [SnapshotProgress.Tail] = [
      .init(partition: 1, point: point(0x180, 41, 2, #"{"id":3}"#))
    ]
    let resume = progress.endOpenSegment(
      committed: point(0x180, 40, 0, #"{"id":99}"#), tails: tails)
    XCTAssertEqual(resume, .init(table: 2, afterKey: nil))
    XCTAssertEqual(
      progress.closed, [.init(lsn: 0x180, wholeTables: 2, otherKeys: nil, keys: [1: #"{"id":3}"#])])
  }

  func testACommittedPointOfAnEndedSegmentResumesWhereItSaid() {
    var progress = SnapshotProgress(base: 0x100, tables: tables)
    progress.closed = [.init(lsn: 0x180, wholeTables: 1, otherKeys: #"{"id":40}"#)]
    progress.open = 0x200
    // The new segment's opening commit never happened: the committed point is the old one's.
    let resume = progress.endOpenSegment(committed: point(0x180, 40, 1, #"{"id":40}"#), tails: [])
    XCTAssertEqual(resume, .init(table: 1, afterKey: #"{"id":40}"#))
    XCTAssertEqual(progress.closed.count, 1)
  }

  func testTheOwnerOfAChangeIsTheFirstSegmentWhosePartHoldsItsRow() async throws {
    var progress = SnapshotProgress(base: 0x100, tables: tables)
    progress.closed = [
      .init(lsn: 0x180, wholeTables: 1, otherKeys: "k40", keys: [0: "k44"]),
      .init(lsn: 0x200, wholeTables: 2, otherKeys: nil),
    ]
    progress.open = 0x300
    progress.done = true
    // Keys are compared as PostgreSQL would; here "kNN" by number.
    let number = { (text: String) in Int(text.dropFirst())! }
    func owner(_ table: Int, _ partition: Int, _ key: String?) async throws -> UInt64 {
      try await progress.owner(table: table, partition: partition, hasKey: key != nil) {
        number(key!) <= number($0)
      }
    }
    let result0 = try await owner(0, 2, "k999")
    XCTAssertEqual(result0, 0x180, "a table the first segment read whole")
    let result1 = try await owner(1, 0, "k44")
    XCTAssertEqual(result1, 0x180, "partition 0 got up to k44 in the first segment")
    let result2 = try await owner(1, 1, "k41")
    XCTAssertEqual(result2, 0x200, "other partitions only up to the committed k40")
    let result3 = try await owner(1, 1, "k40")
    XCTAssertEqual(result3, 0x180)
    let result4 = try await owner(2, 0, "k1")
    XCTAssertEqual(result4, 0x300, "the last segment read the rest")
    let result5 = try await owner(1, 0, nil)
    XCTAssertEqual(result5, 0x200, "a truncate: the first segment that read the table whole")
    XCTAssertTrue(progress.mayOverlap(commitLSN: 0x2FF))
    XCTAssertFalse(progress.mayOverlap(commitLSN: 0x300))
  }
}
