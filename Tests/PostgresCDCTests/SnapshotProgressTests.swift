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

  func testTheWritersQuickPositionsAreTheGeneralForm() {
    let key = #"{"id":"é|b"}"#
    for (generation, sequence, table) in [
      (UInt32(0), UInt64(1), 0), (0, 0xABC_DEF0_1234, 0xFFFF), (7, 42, 3), (0, 1 << 48, 2),
      (0, 5, 1 << 16),
    ] {
      let quick = SnapshotPositions(base: 0x100, segment: 0x1_80A0, generation: generation)
        .position(sequence: sequence, table: table, key: Array(key.utf8))
      var general = point(0x1_80A0, sequence, table, key)
      general.generation = generation
      XCTAssertEqual(quick, general.sourcePosition(progress: nil), "\(sequence) \(table)")
      // (Values past the widths are never reached: their text does not parse back.)
      if sequence >> 48 == 0 && table >> 16 == 0 {
        XCTAssertEqual(CDCPosition(quick), .snapshot(general, nil))
      }
    }
    // A keyless row's ctid as its key.
    XCTAssertEqual(
      SnapshotPositions(base: 1, segment: 2, generation: 0).position(
        sequence: 3, table: 4, key: Array("(0,5)".utf8)),
      SnapshotPoint(base: 1, segment: 2, sequence: 3, table: 4, key: "(0,5)")
        .sourcePosition(progress: nil))
  }

  func testDebeziumsSnapshotMarks() {
    func mark(_ first: Bool, _ last: Bool, table: Int, of count: Int) -> String {
      "\(SnapshotMark(firstInTable: first, lastInTable: last, firstTable: table == 0, lastTable: table == count - 1).text)"
    }
    XCTAssertEqual(mark(true, false, table: 0, of: 2), "first")
    XCTAssertEqual(mark(false, true, table: 0, of: 2), "last_in_data_collection")
    XCTAssertEqual(mark(true, false, table: 1, of: 2), "first_in_data_collection")
    XCTAssertEqual(mark(false, true, table: 1, of: 2), "last")
    XCTAssertEqual(mark(false, false, table: 1, of: 3), "true")
    // One row that is first and last: the last mark wins, as in Debezium.
    XCTAssertEqual(mark(true, true, table: 0, of: 1), "last")
    XCTAssertEqual(mark(true, true, table: 0, of: 2), "first")
    XCTAssertEqual(mark(true, true, table: 1, of: 3), "last_in_data_collection")
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
    XCTAssertEqual(progress.boundaryKeys(inPart: 1), [#"{"id":44}"#, #"{"id":40}"#])
    XCTAssertEqual(progress.boundaryKeys(inPart: 1, partition: 0), [#"{"id":44}"#])
    XCTAssertEqual(progress.boundaryKeys(inPart: 1, partition: 2), [#"{"id":40}"#])
    XCTAssertEqual(progress.boundaryKeys(inPart: 2), [])
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

  // MARK: - Parts read in parallel

  func testAParallelSegmentClaimsEachPartAsFarAsItGotAndTheCutSendPerPartition() async throws {
    var progress = SnapshotProgress(base: 0x100, tables: Array(tables.prefix(2)))
    progress.parts = [
      .init(table: 0, upTo: "k100"), .init(table: 0, after: "k100", upTo: "k200"),
      .init(table: 0, after: "k200"), .init(table: 1),
    ]
    progress.open = 0x180
    progress.reading = .init(below: 0, finished: [1], cursors: [0: "k50", 2: "k250"])
    let tails: [SnapshotProgress.Tail] = [
      .init(partition: 0, point: point(0x180, 44, 0, "k60")),
      .init(partition: 1, point: point(0x180, 43, 0, "k58")),
      .init(partition: 2, point: point(0x180, 40, 2, "k250")),  // the committed send
    ]
    let resume = progress.endOpenSegment(committed: point(0x180, 40, 2, "k250"), tails: tails)
    XCTAssertEqual(resume, .init(table: 0, afterKey: "k50"))
    XCTAssertEqual(
      progress.closed,
      [
        .init(
          lsn: 0x180, wholeTables: 0, otherKeys: "k50", keys: [0: "k60", 1: "k58"],
          wholeParts: [1], partKeys: [2: .init(otherKeys: "k250")])
      ])
    XCTAssertEqual(progress.reading?.cursors, [0: "k50", 2: "k250"], "resume each where it got")
    XCTAssertEqual(progress.boundaryKeys(inPart: 0, partition: 0), ["k60"])
    XCTAssertEqual(progress.boundaryKeys(inPart: 0, partition: 2), ["k50"])
    XCTAssertEqual(progress.boundaryKeys(inPart: 2), ["k250"])
    XCTAssertEqual(progress.boundaryKeys(inPart: 3), [])

    progress.open = 0x200
    let number = { (text: String) in Int(text.dropFirst())! }
    func owner(_ table: Int, _ partition: Int, _ key: String?) async throws -> UInt64 {
      try await progress.owner(table: table, partition: partition, hasKey: key != nil) {
        number(key!) <= number($0)
      }
    }
    let inFinishedPart = try await owner(0, 2, "k150")
    XCTAssertEqual(inFinishedPart, 0x180, "a part the first segment finished")
    let upToCursor = try await owner(0, 2, "k240")
    XCTAssertEqual(upToCursor, 0x180, "part 2 up to its cursor")
    let pastCursor = try await owner(0, 2, "k260")
    XCTAssertEqual(pastCursor, 0x200)
    let cutSend = try await owner(0, 0, "k60")
    XCTAssertEqual(cutSend, 0x180, "partition 0 got the cut send up to k60")
    let otherPartition = try await owner(0, 2, "k60")
    XCTAssertEqual(otherPartition, 0x200, "other partitions only up to the cursor k50")
    let untouched = try await owner(1, 0, "k1")
    XCTAssertEqual(untouched, 0x200, "a table no part of which was read")
    let truncate = try await owner(0, 0, nil)
    XCTAssertEqual(truncate, 0x200, "no segment read the whole table before the last")

    // The progress travels in positions.
    let position = point(0x180, 40, 2, "k250").sourcePosition(progress: progress)
    XCTAssertEqual(CDCPosition(position), .snapshot(point(0x180, 40, 2, "k250"), progress))
  }

  func testAKeylessPartResumesAfterTheCutSendsLastRow() {
    var progress = SnapshotProgress(base: 0x100, tables: Array(tables.prefix(2)))
    progress.open = 0x180
    progress.reading = .init(below: 1, cursors: [1: "(3,5)"])
    // The cut send went to one partition, as every send of a keyless part does.
    let tails: [SnapshotProgress.Tail] = [.init(partition: 2, point: point(0x180, 11, 1, "(7,2)"))]
    let resume = progress.endOpenSegment(committed: point(0x180, 10, 1, "(3,5)"), tails: tails)
    XCTAssertEqual(resume, .init(table: 1, afterKey: "(7,2)"))
    XCTAssertEqual(progress.closed, [.init(lsn: 0x180, wholeTables: 1, otherKeys: "(7,2)")])
  }

  func testReadingFinishesPartsInAnyOrder() {
    var reading = SnapshotProgress.Reading(cursors: [0: "a", 2: "b"])
    reading.finish(2)
    XCTAssertEqual(reading, .init(below: 0, finished: [2], cursors: [0: "a"]))
    reading.finish(0)
    XCTAssertEqual(reading, .init(below: 1, finished: [2]))
    reading.finish(1)
    XCTAssertEqual(reading, .init(below: 3))
    XCTAssertTrue(reading.isFinished(2))
    XCTAssertFalse(reading.isFinished(3))
  }
}
