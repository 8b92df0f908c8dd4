import Foundation
import SluiceTestBrokers
import XCTest

/// What the CDC worker tests share: the PostgreSQL of `make test`, connector files, status
/// details, and dropping each test's slots at the end (an abandoned slot pins WAL).
class CDCWorkerTestCase: XCTestCase {
  var url: String {
    TestServers.postgresURL
  }

  var slotsToDrop: [String] = []

  override func tearDown() {
    for slot in slotsToDrop {
      // The walsender of a killed worker may hold the slot for a moment.
      for _ in 0..<50 {
        let gone = try? cdcPSQL(
          url,
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(slot)' AND NOT active; SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(slot)'"
        )
        if gone == "0" || gone?.hasSuffix("\n0") == true { break }
        Thread.sleep(forTimeInterval: 0.2)
      }
    }
    super.tearDown()
  }

  func connectorYAML(
    _ name: String, tables: String, topic: String, extra: String = ""
  ) -> String {
    """
    name: \(name)
    source: postgres-cdc
    topic: "\(topic)"
    config:
      url: "\(url)"
      tables: \(tables)
      slot: \(name.replacingOccurrences(of: "-", with: "_"))
      publication: \(name.replacingOccurrences(of: "-", with: "_"))
    \(extra)
    """
  }

  func taskStatus(_ worker: WorkerProcess, _ name: String) -> [String: Any]? {
    let status = try? worker.getJSON("/connectors/\(name)/status") as? [String: Any]
    return (status?["tasks"] as? [[String: Any]])?.first
  }

  func detail(_ worker: WorkerProcess, _ name: String, _ key: String) -> String? {
    (taskStatus(worker, name)?["details"] as? [String: Any])?[key] as? String
  }

  func waitForStreaming(_ worker: WorkerProcess, _ name: String) throws {
    try waitUntil("\(name) streaming", timeout: 30) {
      self.detail(worker, name, "state") == "streaming"
    }
  }
}
