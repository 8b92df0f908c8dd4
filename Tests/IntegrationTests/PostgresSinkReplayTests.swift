import Foundation
import XCTest

/// `sluice replay` of the PostgreSQL sink in `mode: upsert`: every record is delivered again
/// (its offsets table goes back and comes forward again) and the table is as it was — the
/// duplicates a replay implies are absorbed.
extension PostgresSinkWorkerTests {
  func testReplayIntoUpsertModeLeavesTheTableAsItWas() throws {
    try psql(
      "DROP TABLE IF EXISTS replay_rows; CREATE TABLE replay_rows (id int PRIMARY KEY, v text, writes int DEFAULT 1)"
    )
    try forgetOffsets(of: "replay-sink")
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("rows.jsonl")
    try append((1...4).map { #"{"id": \#($0), "v": "v\#($0)"}"# }, to: input)
    try worker.writeConnector(
      "replay-in",
      "name: replay-in\nsource: file\ntopic: replay\nconfig: { path: \(input.path), poll_ms: 20 }\n"
    )
    try worker.writeConnector(
      "replay-sink",
      """
      name: replay-sink
      sink: postgres
      topics: [replay]
      config: { url: "\(url)", table: replay_rows, mode: upsert, primary_key: [id] }
      """)
    try worker.start()
    defer {
      if let run = testRun, run.failureCount > 0 { print(worker.log()) }
      _ = worker.terminate()
    }
    func rows() throws -> String {
      try psql("SELECT coalesce(string_agg(id || '=' || v, ',' ORDER BY id), '') FROM replay_rows")
    }
    func stored() throws -> String {
      try psql("SELECT next_offset FROM sluice_sink_offsets WHERE connector = 'replay-sink'")
    }
    try waitUntil("four rows", timeout: 30) {
      try rows() == "1=v1,2=v2,3=v3,4=v4" && stored() == "4"
    }
    // A trigger counts the writes, so the replay is seen to happen.
    try psql(
      """
      CREATE OR REPLACE FUNCTION replay_rows_count() RETURNS trigger AS $$
      BEGIN NEW.writes := OLD.writes + 1; RETURN NEW; END $$ LANGUAGE plpgsql;
      CREATE TRIGGER replay_rows_count BEFORE UPDATE ON replay_rows
        FOR EACH ROW EXECUTE FUNCTION replay_rows_count();
      """)

    let replayed = try runSluice([
      "replay", "replay-sink", "--to-offset", "1", "--api", worker.apiURL,
    ])
    XCTAssertEqual(replayed.status, 0, replayed.stderr)
    XCTAssertTrue(replayed.stdout.contains("replay/0: 4 → 1"), replayed.stdout)
    try waitUntil("rows 2 to 4 written again", timeout: 30) {
      try self.psql("SELECT string_agg(writes::text, ',' ORDER BY id) FROM replay_rows")
        == "1,2,2,2"
    }
    XCTAssertEqual(try rows(), "1=v1,2=v2,3=v3,4=v4", "the same rows, no more")
    XCTAssertEqual(try stored(), "4")
  }
}
