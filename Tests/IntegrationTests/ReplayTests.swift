import Foundation
import XCTest

/// `sluice replay` against a real worker: file source → topic `lines` → file sink. By time the
/// sink delivers again from the first record at or after the time (the log's time index), by
/// offset from the offset; the connector comes back in the state it was in; bad requests are
/// refused with a message and a non-zero exit, without touching the connector.
final class ReplayTests: XCTestCase {
  private var pipeline: FileLinesPipeline!
  private var worker: WorkerProcess { pipeline.worker }

  override func setUpWithError() throws {
    pipeline = try FileLinesPipeline()
    try pipeline.start()
  }

  override func tearDown() {
    _ = worker.terminate()
    if let run = testRun, run.failureCount > 0 { print(worker.log()) }
  }

  func testReplayToTimeDeliversAgainFromThatTimeAndToOffsetFromTheOffset() throws {
    try pipeline.append(1...5)
    try waitUntil("the first five lines delivered") { self.pipeline.outputLines().count == 5 }
    // Record timestamps are taken when the source reads a line: more than a second apart on
    // either side of `between`.
    Thread.sleep(forTimeInterval: 1.2)
    let between = Date()
    Thread.sleep(forTimeInterval: 1.2)
    try pipeline.append(6...10)
    try waitUntil("all ten lines delivered") { self.pipeline.outputLines().count == 10 }

    let byTime = try replay(["--to-time", Self.iso8601(between)])
    XCTAssertEqual(byTime.status, 0, byTime.stderr)
    XCTAssertTrue(byTime.stdout.contains("lines/0: 10 → 5"), byTime.stdout)
    XCTAssertTrue(byTime.stdout.contains("stopped (was RUNNING)"), byTime.stdout)
    XCTAssertTrue(byTime.stdout.contains("resumed"), byTime.stdout)
    try waitUntil("lines 6 to 10 again") { self.pipeline.outputLines().count == 15 }
    XCTAssertEqual(
      pipeline.outputLines(),
      (1...10).map { "line \($0)" } + (6...10).map { "line \($0)" })
    XCTAssertEqual(try pipeline.states("lines-out"), ["RUNNING", "RUNNING"])

    // By offset, partition 0: everything again.
    let byOffset = try replay(["--to-offset", "0", "--partition", "0"])
    XCTAssertEqual(byOffset.status, 0, byOffset.stderr)
    XCTAssertTrue(byOffset.stdout.contains("lines/0: 10 → 0"), byOffset.stdout)
    try waitUntil("every line again") { self.pipeline.outputLines().count == 25 }
    XCTAssertEqual(Array(pipeline.outputLines().suffix(10)), (1...10).map { "line \($0)" })

    // Past the end: clamped, and said so; nothing is delivered again.
    let past = try replay(["--to-offset", "99"])
    XCTAssertEqual(past.status, 0, past.stderr)
    XCTAssertTrue(past.stdout.contains("clamped to the log end 10"), past.stdout)
    XCTAssertTrue(past.stdout.contains("nothing changed"), past.stdout)

    // A paused sink is paused again afterwards, and delivers once resumed.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/pause").status, 202)
    try waitUntil("paused") { try self.pipeline.states("lines-out") == ["PAUSED", "PAUSED"] }
    let paused = try replay(["--to-offset", "8"])
    XCTAssertEqual(paused.status, 0, paused.stderr)
    XCTAssertTrue(paused.stdout.contains("PAUSED again"), paused.stdout)
    try waitUntil("paused again") {
      try self.pipeline.states("lines-out") == ["PAUSED", "PAUSED"]
    }
    Thread.sleep(forTimeInterval: 0.5)
    XCTAssertEqual(pipeline.outputLines().count, 25, "a paused sink delivers nothing")
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/resume").status, 202)
    try waitUntil("lines 9 and 10 again") { self.pipeline.outputLines().count == 27 }
    XCTAssertEqual(Array(pipeline.outputLines().suffix(2)), ["line 9", "line 10"])
  }

  func testBadReplaysAreRefusedWithoutTouchingTheConnector() throws {
    try pipeline.append(1...3)
    try waitUntil("three lines delivered") { self.pipeline.outputLines().count == 3 }

    let refusals: [([String], String)] = [
      (["lines-out"], "give --to-offset N or --to-time TIME"),
      (["lines-out", "--to-offset", "1", "--to-time", "0"], "not two"),
      (["lines-out", "--to-lsn", "0/1"], "--to-lsn is for a PostgreSQL CDC source"),
      (["lines-out", "--to-time", "yesterday"], "is not a time"),
      (["lines-out", "--to-offset=-1"], "--to-offset must be 0 or more"),
      (["nope", "--to-offset", "0"], "unknown connector 'nope'"),
      (["lines-in", "--to-offset", "0"], "it is a source connector (file)"),
      (["lines-out", "--to-offset", "0", "--partition", "3"], "reads no partition 3"),
      (
        ["lines-out", "--to-time", Self.iso8601(Date().addingTimeInterval(3600))],
        "no record at or after"
      ),
    ]
    for (arguments, expected) in refusals {
      let result = try runSluice(["replay"] + arguments + ["--api", worker.apiURL])
      XCTAssertNotEqual(result.status, 0, "\(arguments): \(result.stdout)")
      XCTAssertTrue(
        result.stderr.contains(expected), "\(arguments): expected '\(expected)' in \(result.stderr)"
      )
    }
    // None of them stopped anything or moved an offset.
    XCTAssertEqual(try pipeline.states("lines-out"), ["RUNNING", "RUNNING"])
    XCTAssertEqual(try pipeline.states("lines-in"), ["RUNNING", "RUNNING"])
    // A sentinel line: had an offset moved, lines 1 to 3 would be delivered again before it.
    try pipeline.append(4...4)
    try waitUntil("the sentinel line") { self.pipeline.outputLines().last == "line 4" }
    XCTAssertEqual(pipeline.outputLines(), (1...4).map { "line \($0)" })
  }

  // MARK: - Helpers

  private func replay(_ arguments: [String]) throws -> (
    status: Int32, stdout: String, stderr: String
  ) {
    try runSluice(["replay", "lines-out"] + arguments + ["--api", worker.apiURL])
  }

  private static func iso8601(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
  }
}
