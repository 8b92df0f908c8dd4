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

  /// Waits until the walsender `pid` has a standby status reply from more than `seconds` after
  /// now (`pg_stat_replication.reply_time`): with a `wal_sender_timeout` of less than half of
  /// `seconds`, the worker then kept that connection through silence the server would
  /// otherwise have cut, which a fixed sleep could only hope for.
  func waitForStandbyReply(walsender pid: String, after seconds: Int) throws {
    let since = try cdcPSQL(url, "SELECT extract(epoch FROM now())")
    try waitUntil(
      "a standby reply to walsender \(pid) \(seconds) s on", timeout: Double(seconds) + 30
    ) {
      try cdcPSQL(
        url,
        "SELECT count(*) FROM pg_stat_replication WHERE pid = \(pid) AND extract(epoch FROM reply_time) > \(since) + \(seconds)"
      ) == "1"
    }
  }

  func waitForStreaming(_ worker: WorkerProcess, _ name: String) throws {
    try waitUntil("\(name) streaming", timeout: 30) {
      self.detail(worker, name, "state") == "streaming"
    }
  }
}

/// Commits one row to `table` (one of the connector's, keyed by `id int`) and waits for its
/// event in `topic`. PostgreSQL decodes transactions in commit order, so once the sentinel is
/// in, every change committed before it is too, and so would be any repeat of one: the
/// positive sign that replaces "room for a duplicate to show up" sleeps.
func passCDCSentinel(_ worker: WorkerProcess, url: String, table: String, topic: String) throws {
  let before = try worker.records(topic).count
  try cdcPSQL(url, "INSERT INTO \(table) (id) SELECT coalesce(max(id), 0) + 1 FROM \(table)")
  try waitUntil("the sentinel row of \(table) in \(topic)", timeout: 60) {
    try worker.records(topic).count > before
  }
}
