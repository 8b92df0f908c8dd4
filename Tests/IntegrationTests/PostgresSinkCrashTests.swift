import Foundation
import XCTest

/// The PostgreSQL sink inside a real worker process against the PostgreSQL of `make test`:
/// exactly-once under SIGKILL, and a poison record dead-lettered with the database's error.
final class PostgresSinkCrashTests: XCTestCase {
  var url: String {
    ProcessInfo.processInfo.environment["SLUICE_TEST_PG_URL"]
      ?? "postgresql://sluice:sluice@127.0.0.1:5432/sluice_test"
  }

  /// Runs SQL with psql and returns its unaligned output.
  @discardableResult
  func psql(_ sql: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
    process.arguments = [url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql]
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let problem = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw WorkerError("psql failed: \(String(decoding: problem, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// The sink keeps its offsets in the database: forget any from an earlier run.
  func forgetOffsets(of connector: String) throws {
    try psql(
      """
      CREATE TABLE IF NOT EXISTS sluice_sink_offsets (connector text NOT NULL, topic text NOT NULL,
        "partition" integer NOT NULL, next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (connector, topic, "partition"));
      DELETE FROM sluice_sink_offsets WHERE connector = '\(connector)'
      """)
  }

  func testInsertModeLandsEveryRecordOnceAcrossRepeatedSIGKILL() throws {
    try psql(
      "DROP TABLE IF EXISTS crash_rows; CREATE TABLE crash_rows (n bigint, pad text, at timestamptz DEFAULT now())"
    )
    try forgetOffsets(of: "crash-sink")
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("rows.jsonl")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    try worker.writeConnector(
      "crash-in",
      "name: crash-in\nsource: file\ntopic: crash\nconfig: { path: \(input.path), batch_lines: 1000, poll_ms: 20 }\n"
    )
    try worker.writeConnector(
      "crash-sink",
      """
      name: crash-sink
      sink: postgres
      topics: [crash]
      config: { url: "\(url)", table: crash_rows, mode: insert, batch_size: 500 }
      """)
    try worker.start()

    let total = 100_000
    let pad = String(repeating: "x", count: 100)
    let writer = LineWriter(
      url: input, total: total, linesPerChunk: 2000, pause: 0.1,
      makeLine: { #"{"n": \#($0), "pad": "\#(pad)"}"# })
    writer.start()

    var kills = 0
    var killsWhileLoading = 0
    var generator = SystemRandomNumberGenerator()
    while kills < 6 || !writer.finished {
      Thread.sleep(forTimeInterval: Double.random(in: 0.1...1.0, using: &generator))
      if try Int(psql("SELECT count(*) FROM crash_rows")) ?? 0 < total { killsWhileLoading += 1 }
      worker.kill9()
      kills += 1
      try worker.start()
    }
    XCTAssertGreaterThanOrEqual(killsWhileLoading, 5, "kills while rows were still arriving")

    try waitUntil("all rows in crash_rows", timeout: 120) {
      (try? Int(self.psql("SELECT count(*) FROM crash_rows")) ?? 0) ?? 0 >= total
    }
    Thread.sleep(forTimeInterval: 1)  // room for a duplicate to show up
    let summary = try psql(
      "SELECT count(*), count(DISTINCT n), min(n), max(n) FROM crash_rows")
    XCTAssertEqual(
      summary, "\(total)|\(total)|1|\(total)", "rows, distinct, min, max after \(kills) kills")
    XCTAssertNotNil(worker.terminate())
  }

  func testAPoisonRecordGoesToTheDeadLetterTopicAndTheRestLands() throws {
    try psql(
      """
      DROP TABLE IF EXISTS dlq_counts; CREATE TABLE dlq_counts (id int PRIMARY KEY, n int NOT NULL)
      """)
    try forgetOffsets(of: "counts-sink")
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("counts.jsonl")
    try append(
      [#"{"id": 1, "n": 1}"#, #"{"id": 2, "n": "lots"}"#, #"{"id": 3, "n": 3}"#], to: input)
    try worker.writeConnector(
      "counts-in",
      "name: counts-in\nsource: file\ntopic: counts\nconfig: { path: \(input.path), poll_ms: 20 }\n"
    )
    try worker.writeConnector(
      "counts-sink",
      """
      name: counts-sink
      sink: postgres
      topics: [counts]
      config: { url: "\(url)", table: dlq_counts, mode: upsert, primary_key: [id] }
      errors: { tolerance: all, dlq_topic: counts.dlq, retries: 1, retry_backoff_ms: 10 }
      """)
    try worker.start()
    try waitUntil("the poison dead-lettered", timeout: 30) {
      ((try? worker.records("counts.dlq")) ?? []).count == 1
    }
    XCTAssertEqual(try psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM dlq_counts"), "1,3")
    let dead = try XCTUnwrap(worker.records("counts.dlq").first)
    XCTAssertEqual(dead["value"] as? [String: Any] as NSDictionary?, ["id": 2, "n": "lots"])
    let headers = try XCTUnwrap(dead["headers"] as? [String: Any])
    let reason = try XCTUnwrap(headers["sluice.error.reason"] as? String)
    XCTAssertTrue(reason.contains("invalid input syntax for type integer"), reason)
    XCTAssertEqual(headers["sluice.error.offset"] as? String, "1")
    XCTAssertNotNil(worker.terminate())
  }
}
