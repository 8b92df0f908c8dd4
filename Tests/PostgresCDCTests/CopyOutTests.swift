import Foundation
import SluicePostgres
import XCTest

@testable import PostgresCDCConnector

/// The snapshot's COPY reading: PostgreSQL's text format with its escapes undone, and against
/// the real PostgreSQL of `make test` every awkward value coming back as `SELECT` returns it.
final class CopyOutTests: XCTestCase {
  func fields(_ line: String) -> [String?] {
    var row = CopyRow()
    // A row parsed before must leave nothing behind in the reused buffers.
    Array("stale\tfields\\t\n".utf8).withUnsafeBufferPointer { CopyTextFormat.parse($0, into: &row) }
    Array(line.utf8).withUnsafeBufferPointer { CopyTextFormat.parse($0, into: &row) }
    return Self.strings(row)
  }

  static func strings(_ row: CopyRow) -> [String?] {
    row.fields.map { $0.map { String(decoding: row.bytes[$0], as: UTF8.self) } }
  }

  /// Up to `max` rows of the connection's COPY, as strings; nil once it has ended.
  func rows(_ connection: PostgresConnection, max: Int) throws -> [[String?]]? {
    var row = CopyRow()
    var rows: [[String?]] = []
    let more = try connection.copyOut(max: max) {
      CopyTextFormat.parse($0, into: &row)
      rows.append(Self.strings(row))
    }
    return more || !rows.isEmpty ? rows : nil
  }

  func testFieldsSplitOnTabsWithNullsAndEscapesUndone() {
    XCTAssertEqual(fields("1\tabc\t\\N\n"), ["1", "abc", nil])
    XCTAssertEqual(fields("\t\n"), ["", ""], "empty strings are not NULL")
    XCTAssertEqual(fields("a\\tb\\nc\\\\d\\re"), ["a\tb\nc\\d\re"])
    XCTAssertEqual(fields("\\b\\f\\v"), ["\u{8}\u{c}\u{b}"])
    XCTAssertEqual(fields("\\101\\x42\\7"), ["AB\u{7}"], "octal and hex, as COPY FROM reads them")
    XCTAssertEqual(fields("x\\\tstill one field"), ["x\tstill one field"])
    XCTAssertEqual(fields("\\\\N"), ["\\N"], "an escaped backslash then N is text")
    XCTAssertEqual(fields("trailing\\"), ["trailing\\"])
    XCTAssertEqual(fields("héllo\t€"), ["héllo", "€"])
    XCTAssertEqual(fields(""), [""])
    XCTAssertEqual(fields("a\t\t\\N\tb\n"), ["a", "", nil, "b"], "the plain rows' quick path")
  }

  func testCopyOutReturnsWhatSelectReturns() throws {
    let url =
      ProcessInfo.processInfo.environment["SLUICE_TEST_PG_URL"]
      ?? "postgresql://sluice:sluice@127.0.0.1:5432/sluice_test"
    let connection = try PostgresConnection.changeCapture(
      url: url, password: nil, applicationName: "sluice-tests")
    let query = """
      SELECT * FROM (VALUES (1, E'tab\\there', NULL::text, '\\x00ff'::bytea),
        (2, E'new\\nline\\r\\\\back', '', '\\x'::bytea),
        (3, 'héllo "q" \\N', E'\\b\\f\\v', '\\x5c4e'::bytea),
        (4, repeat('x', 70000), '{"a": "b\\tc"}', NULL)) v(id, a, b, c) ORDER BY id
      """
    let selected = try connection.execute(query)
    try connection.startCopyOut("COPY (\(query)) TO STDOUT")
    var copied: [[String?]] = []
    while let rows = try rows(connection, max: 3) {
      XCTAssertLessThanOrEqual(rows.count, 3)
      copied += rows
    }
    XCTAssertEqual(copied, selected)
    XCTAssertEqual(copied.count, 4)
    XCTAssertTrue(connection.isIdle, "the COPY is over")
    XCTAssertEqual(try connection.execute("SELECT 1").first?.first, "1")
    // An error in the middle of a COPY is the server's error.
    try connection.startCopyOut("COPY (SELECT 1 / (3 - g) FROM generate_series(1, 5) g) TO STDOUT")
    XCTAssertThrowsError(try { while try connection.copyOut(max: 1, { _ in }) {} }()) {
      XCTAssertEqual(($0 as? PostgresError)?.sqlState, "22012")
    }
    XCTAssertEqual(try connection.execute("SELECT 2").first?.first, "2")
  }
}
