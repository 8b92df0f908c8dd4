import Foundation
import XCTest

/// `drop_slot_on_delete: true` drops the slot — and with it every change not yet read — so it
/// happens only when the connector file is really and lastingly gone: not when the folder cannot
/// be read for a moment, and not when the file comes back within the grace period.
final class CDCSlotRemovalTests: CDCWorkerTestCase {
  func testTheSlotIsDroppedOnlyAfterTheFileHasStayedGoneForTheGracePeriod() throws {
    try cdcPSQL(
      url, "DROP TABLE IF EXISTS cdc_grace; CREATE TABLE cdc_grace (id int PRIMARY KEY)")
    slotsToDrop.append("cdc_grace")
    let worker = try WorkerProcess(workerYAMLExtra: "connector_removal_grace_ms: 3s")
    let yaml = connectorYAML(
      "cdc-grace", tables: "[public.cdc_grace]", topic: "grace.{table}",
      extra: "  drop_slot_on_delete: true")
    try worker.writeConnector("cdc-grace", yaml)
    try worker.start()
    try waitForStreaming(worker, "cdc-grace")
    let slotCount = "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_grace'"

    // 1. The folder cannot be listed for a while: nothing stops, the slot stays.
    let away = worker.directory.appendingPathComponent("connectors.away")
    XCTAssertEqual(rename(worker.connectorsDirectory.path, away.path), 0)
    try cdcPSQL(url, "INSERT INTO cdc_grace VALUES (1)")
    Thread.sleep(forTimeInterval: 4)
    XCTAssertEqual(try cdcPSQL(url, slotCount), "1", "slot dropped while the folder was unreadable")
    XCTAssertEqual(detail(worker, "cdc-grace", "state"), "streaming")
    XCTAssertEqual(rename(away.path, worker.connectorsDirectory.path), 0)
    try waitUntil("change made while the folder was unreadable arrives") {
      try worker.records("grace.cdc_grace").count == 1
    }

    // 2. The file goes and comes back within the grace period: the slot and its changes stay.
    try worker.removeConnector("cdc-grace")
    try waitUntil("connector stopped") { (try worker.getJSON("/connectors") as? [String]) == [] }
    try cdcPSQL(url, "INSERT INTO cdc_grace VALUES (2)")
    Thread.sleep(forTimeInterval: 1)
    try worker.writeConnector("cdc-grace", yaml)
    try waitForStreaming(worker, "cdc-grace")
    Thread.sleep(forTimeInterval: 4)
    XCTAssertEqual(try cdcPSQL(url, slotCount), "1", "slot dropped although the file came back")
    try waitUntil("change made while the file was gone arrives") {
      try worker.records("grace.cdc_grace").count == 2
    }

    // 3. The file stays gone: the slot is dropped, after the grace period.
    let removed = Date()
    try worker.removeConnector("cdc-grace")
    // Polled from the removal on, so a drop before the grace period ended shows as too early.
    try waitUntil("slot dropped once the removal held", timeout: 30) {
      try cdcPSQL(self.url, slotCount) == "0"
    }
    XCTAssertGreaterThanOrEqual(
      Date().timeIntervalSince(removed), 3, "slot dropped before the grace period ended")
    XCTAssertNotNil(worker.terminate())
  }
}
