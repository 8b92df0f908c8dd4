import Foundation
import XCTest

/// KIP-875 offsets of the PostgreSQL sink, which resumes from its own offsets table: GET reads
/// the table, and PATCH and DELETE change it (not only the consumer group), so the sink really
/// delivers again from where it is told.
extension PostgresSinkWorkerTests {
  func testOffsetsLiveInTheOffsetsTableAndMoveThere() throws {
    try psql("DROP TABLE IF EXISTS offs_rows; CREATE TABLE offs_rows (n bigint)")
    try forgetOffsets(of: "offs-sink")
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("rows.jsonl")
    try append((1...5).map { #"{"n": \#($0)}"# }, to: input)
    try worker.writeConnector(
      "offs-in",
      "name: offs-in\nsource: file\ntopic: offs\nconfig: { path: \(input.path), poll_ms: 20 }\n")
    try worker.writeConnector(
      "offs-sink",
      """
      name: offs-sink
      sink: postgres
      topics: [offs]
      config: { url: "\(url)", table: offs_rows, mode: insert }
      """)
    try worker.start()
    defer {
      if let run = testRun, run.failureCount > 0 { print(worker.log()) }
      _ = worker.terminate()
    }
    func rows() throws -> String {
      try psql("SELECT coalesce(string_agg(n::text, ',' ORDER BY ctid), '') FROM offs_rows")
    }
    func shown() throws -> Int? {
      let body = try worker.getJSON("/connectors/offs-sink/offsets") as? [String: Any]
      let entries = body?["offsets"] as? [[String: Any]] ?? []
      XCTAssertEqual(entries.count, 1)
      XCTAssertEqual(
        (entries.first?["partition"] as? [String: Any])?["kafka_topic"] as? String, "offs")
      return (entries.first?["offset"] as? [String: Any])?["kafka_offset"] as? Int
    }
    func stored() throws -> String {
      try psql("SELECT next_offset FROM sluice_sink_offsets WHERE connector = 'offs-sink'")
    }

    try waitUntil("five rows", timeout: 30) { try rows() == "1,2,3,4,5" }
    XCTAssertEqual(try shown(), 5, "GET reads the offsets table")

    // PATCH to offset 2: the table says so, and rows 3 to 5 come again.
    XCTAssertEqual(try worker.send("PUT", "/connectors/offs-sink/stop").status, 204)
    let altered = try worker.send(
      "PATCH", "/connectors/offs-sink/offsets",
      json:
        #"{"offsets":[{"partition":{"kafka_topic":"offs","kafka_partition":0},"offset":{"kafka_offset":2}}]}"#
    )
    XCTAssertEqual(altered.status, 200, String(decoding: altered.body, as: UTF8.self))
    XCTAssertEqual(try stored(), "2")
    XCTAssertEqual(try shown(), 2)
    XCTAssertEqual(try worker.send("PUT", "/connectors/offs-sink/resume").status, 202)
    try waitUntil("rows 3 to 5 again", timeout: 30) { try rows() == "1,2,3,4,5,3,4,5" }

    // DELETE: the sink's rows go, and everything comes again.
    XCTAssertEqual(try worker.send("PUT", "/connectors/offs-sink/stop").status, 204)
    XCTAssertEqual(try worker.send("DELETE", "/connectors/offs-sink/offsets").status, 200)
    XCTAssertEqual(try stored(), "", "no row: from the start")
    XCTAssertEqual(try worker.send("PUT", "/connectors/offs-sink/resume").status, 202)
    // A sentinel record after them: in offset order, anything more would land before its row.
    try append([#"{"n": 6}"#], to: input)
    try waitUntil("every row again, then the sentinel", timeout: 30) {
      try rows().hasSuffix(",6")
    }
    XCTAssertEqual(try rows(), "1,2,3,4,5,3,4,5,1,2,3,4,5,6")
    XCTAssertEqual(try shown(), 6)
  }
}
