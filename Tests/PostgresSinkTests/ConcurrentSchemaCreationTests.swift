import Foundation
import SluiceCore
import SluicePostgres
import SluiceTestBrokers
import XCTest

@testable import PostgresSinkConnector

/// Sink tasks that open at the same moment on a database without their offsets table all
/// create it without failing (`CREATE TABLE IF NOT EXISTS` alone loses such races with a
/// unique violation on `pg_type`).
final class ConcurrentSchemaCreationTests: XCTestCase {
  var url: String {
    TestServers.postgresURL
  }

  func testTasksOpeningTogetherAllCreateTheOffsetsTableWithoutFailing() async throws {
    let db = try PostgresConnection(url: url, password: nil, applicationName: "sluice-tests")
    let table = "race_offsets_\(UInt32.random(in: 0...UInt32.max))"
    defer { _ = try? db.execute("DROP TABLE IF EXISTS \(quoteIdentifier(table))") }
    var failures: [String] = []
    for round in 0..<10 {
      try db.execute("DROP TABLE IF EXISTS \(quoteIdentifier(table))")
      let tasks = try (0..<8).map { i in
        let name = "race-\(i)"
        let definition = try ConnectorDefinition.parse(
          text:
            "name: \(name)\nsink: postgres\ntopics: [t]\nconfig:\n  url: \(url)\n  table: t\n  offsets_table: \(table)\n",
          file: "\(name).yaml")
        return PostgresSinkTask(
          config: try PostgresSinkConfig(definition: definition), context: TestSinkContext(name))
      }
      let errors = await withTaskGroup(of: String?.self) { group in
        for task in tasks {
          group.addTask {
            do {
              _ = try await task.open([TopicPartition("t", 0)])
              return nil
            } catch {
              return "\(error)"
            }
          }
        }
        var errors: [String] = []
        for await error in group { if let error { errors.append(error) } }
        return errors
      }
      failures += errors.map { "round \(round): \($0)" }
      for task in tasks { await task.close() }
    }
    XCTAssertEqual(failures, [], "opens that lost the race to create \(table)")
  }
}
