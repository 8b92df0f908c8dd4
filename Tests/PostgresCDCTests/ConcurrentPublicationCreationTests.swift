import Foundation
import SluiceCore
import SluicePostgres
import SluiceTestBrokers
import XCTest

@testable import PostgresCDCConnector

/// A connector's setup that finds its publication missing while another session is creating
/// it (connectors sharing a publication, starting together) uses that publication instead of
/// failing, against the real PostgreSQL of `make test`.
final class ConcurrentPublicationCreationTests: XCTestCase {
  var url: String {
    TestServers.postgresURL
  }

  func testAPublicationCreatedMeanwhileBySomeoneElseIsUsed() throws {
    let other = try PostgresConnection(url: url, password: nil, applicationName: "sluice-tests")
    try other.execute("DROP PUBLICATION IF EXISTS race_pub")
    try other.execute("DROP TABLE IF EXISTS race_pub_t")
    try other.execute("CREATE TABLE race_pub_t (id int PRIMARY KEY)")
    defer { _ = try? other.execute("DROP PUBLICATION IF EXISTS race_pub") }
    let definition = try ConnectorDefinition.parse(
      text:
        "name: race-pub\nsource: postgres-cdc\ntopic: \"t.{table}\"\nconfig:\n  url: \"\(url)\"\n  tables: [public.race_pub_t]\n  publication: race_pub\n",
      file: "race-pub.yaml")
    let setup = SlotSetup(config: try CDCConfig(definition: definition))

    // The other session has created the publication but not yet committed: the setup does not
    // see it, and its own CREATE PUBLICATION waits on the other's catalog row.
    try other.execute("BEGIN")
    try other.execute("CREATE PUBLICATION race_pub FOR TABLE race_pub_t")
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    let connectorURL = url
    Thread {
      outcome.set(
        Result {
          let connection = try PostgresConnection(
            url: connectorURL, password: nil, applicationName: "sluice-tests setup")
          try setup.ensurePublication(on: connection)
        })
      done.signal()
    }.start()
    // Wait until the setup's CREATE PUBLICATION is blocked behind the other transaction.
    // (Seen from a third session: inside its transaction `other` sees a frozen pg_stat_activity.)
    let observer = try PostgresConnection(url: url, password: nil, applicationName: "sluice-tests")
    try waitFor("the setup waits on the other session's lock") {
      try observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sluice-tests setup' AND wait_event_type = 'Lock'"
      ).first?.first == "1"
    }
    try other.execute("COMMIT")
    XCTAssertEqual(done.wait(timeout: .now() + 20), .success)
    XCTAssertNoThrow(try outcome.get(), "the setup used the publication created meanwhile")
    let published = try other.execute(
      "SELECT tablename FROM pg_publication_tables WHERE pubname = 'race_pub'")
    XCTAssertEqual(published.map { $0.first ?? nil }, ["race_pub_t"])
  }

  private func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
      if try condition() { return }
      Thread.sleep(forTimeInterval: 0.05)
    }
    XCTFail("timed out waiting for: \(what)")
  }
}

/// The setup thread's result, read by the test after the thread signalled.
private final class Outcome: @unchecked Sendable {
  private let lock = NSLock()
  private var result: Result<Void, any Error> = .success(())
  func set(_ value: Result<Void, any Error>) { lock.withLock { result = value } }
  func get() throws { try lock.withLock { result }.get() }
}
