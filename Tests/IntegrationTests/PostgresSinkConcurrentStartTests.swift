import Foundation
import SluiceTestBrokers
import XCTest

/// PostgreSQL sinks that start together against a fresh database: they create the one offsets
/// table and their auto-created target tables at the same moment, and none of them fails
/// (`CREATE TABLE IF NOT EXISTS` alone is not race-free: one loses with a unique violation on
/// `pg_type`).
final class PostgresSinkConcurrentStartTests: XCTestCase {
  var url: String {
    TestServers.postgresURL
  }

  func database(_ name: String) -> String { String(url[..<url.lastIndex(of: "/")!]) + "/" + name }

  func testSinksStartingTogetherOnAFreshDatabaseAllCreateTheirTablesWithoutFailing() throws {
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("rows.jsonl")
    let rows = 200
    try append((1...rows).map { #"{"id": \#($0), "v": "row \#($0)"}"# }, to: input)
    // The topic is filled first, so that every sink has work the moment it starts.
    try worker.writeConnector(
      "race-in",
      "name: race-in\nsource: file\ntopic: race\nconfig: { path: \(input.path), poll_ms: 20 }\n")
    try worker.start()
    try waitUntil("the topic holds every row", timeout: 30) {
      (try? worker.records("race"))?.count == rows
    }
    XCTAssertNotNil(worker.terminate())

    // Six sinks: three upsert into one shared table, three insert into tables of their own.
    let sinks = (0..<6).map { "race-sink-\($0)" }
    for round in 0..<4 {
      let name = "sluice_race_\(round)"
      try cdcPSQL(url, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
      try cdcPSQL(url, "CREATE DATABASE \(name)")
      addTeardownBlock { [url] in
        _ = try? cdcPSQL(url, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
      }
      for (i, sink) in sinks.enumerated() {
        let target =
          i < 3
          ? "table: race_shared, mode: upsert, primary_key: [id]"
          : "table: race_own_\(i), mode: insert"
        try worker.writeConnector(
          sink,
          """
          name: \(sink)
          sink: postgres
          topics: [race]
          config: { url: "\(database(name))", \(target), auto_create: true }
          """)
      }
      let logBefore = worker.log().count
      try worker.start()
      for (i, sink) in sinks.enumerated() {
        let table = i < 3 ? "race_shared" : "race_own_\(i)"
        try waitUntil("\(sink) wrote every row in round \(round)", timeout: 60) {
          try cdcPSQL(self.database(name), "SELECT count(*) FROM \(table)") == "\(rows)"
        }
      }
      for sink in sinks {
        let status = try worker.getJSON("/connectors/\(sink)/status") as? [String: Any]
        let task = (status?["tasks"] as? [[String: Any]])?.first
        XCTAssertEqual(
          task?["state"] as? String, "RUNNING", "\(sink) in round \(round): \(task ?? [:])")
        XCTAssertEqual(task?["restarts"] as? Int, 0, "\(sink) never failed in round \(round)")
      }
      XCTAssertNotNil(worker.terminate())
      // A lost race shows as a failed task or as a delivery retried after a unique violation.
      let log = String(worker.log().dropFirst(logBefore))
      for symptom in ["sink task failed", "sink delivery failing", "pg_type", "SQLSTATE 23505"] {
        XCTAssertFalse(log.contains(symptom), "round \(round): \(symptom)\n\(log)")
      }
      for sink in sinks { try worker.removeConnector(sink) }
    }
  }
}
