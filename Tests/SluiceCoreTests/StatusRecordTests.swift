import Foundation
import Synchronization
import XCTest

@testable import SluiceCore

/// Status changes as status-topic records (Kafka Connect's keys and values): only state and
/// trace changes count, a removed connector leaves tombstones.
final class StatusRecordTests: XCTestCase {
  private func status(_ state: ConnectorState, tasks: [TaskStatus]) -> ConnectorStatus {
    ConnectorStatus(
      name: "cdc", connector: .init(state: state, workerID: "w:1", trace: nil), tasks: tasks,
      type: "source", connectorType: "postgres-cdc", configFile: "cdc.yaml")
  }

  func testStateAndTraceChangesAreRecordsDetailsAreNot() throws {
    let collected = Mutex<[StatusRecord]>([])
    let board = StatusBoard { new in collected.withLock { $0 += new } }
    board.set(status(.running, tasks: [TaskStatus(id: 0, state: .unassigned, workerID: "w:1")]))
    board.updateTask("cdc", 0) { $0.state = .running }
    board.updateTask("cdc", 0) { $0.details["lag"] = "5" }
    board.updateTask("cdc", 0) {
      $0.state = .failed
      $0.trace = "boom at postgres://u:secret@h/db"
    }
    board.remove("cdc")
    let records = collected.withLock { $0 }
    XCTAssertEqual(
      records.map(\.key),
      [
        "status-connector-cdc", "status-task-cdc-0", "status-task-cdc-0", "status-task-cdc-0",
        "status-connector-cdc", "status-task-cdc-0",
      ])
    let failed = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(records[3].value ?? [])) as? [String: Any])
    XCTAssertEqual(failed["state"] as? String, "FAILED")
    XCTAssertEqual(failed["worker_id"] as? String, "w:1")
    XCTAssertFalse((failed["trace"] as? String ?? "").contains("secret"), "\(failed)")
    // Kafka Connect's members in name order, written by the one JSON writer (a `/` in the
    // trace is not escaped, as JSONSerialization's `\/` was).
    XCTAssertEqual(
      String(decoding: records[0].value ?? [], as: UTF8.self),
      #"{"generation":0,"state":"RUNNING","trace":null,"worker_id":"w:1"}"#)
    let trace = try XCTUnwrap(failed["trace"] as? String)
    XCTAssertEqual(
      String(decoding: records[3].value ?? [], as: UTF8.self),
      "{\"generation\":0,\"state\":\"FAILED\",\"trace\":\"\(trace)\",\"worker_id\":\"w:1\"}")
    XCTAssertNil(records[4].value, "a removed connector leaves a tombstone")
    XCTAssertNil(records[5].value)
  }
}
