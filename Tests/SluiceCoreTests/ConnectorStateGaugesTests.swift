import Prometheus
import SluiceCore
import XCTest

/// `sluice_task_state` and `sluice_connector_state` read from the status board: 1 for the
/// current state, 0 for the others, and no series once a connector is removed.
final class ConnectorStateGaugesTests: XCTestCase {
  private let registry = PrometheusCollectorRegistry()
  private lazy var gauges = ConnectorStateGauges(
    factory: PrometheusMetricsFactory(registry: registry))
  private let board = StatusBoard()

  override func setUp() {
    board.set(
      ConnectorStatus(
        name: "orders", connector: .init(state: .running, workerID: "w", trace: nil),
        tasks: [
          TaskStatus(id: 0, state: .running, workerID: "w"),
          TaskStatus(id: 1, state: .unassigned, workerID: "w"),
        ],
        type: "sink", connectorType: "file", configFile: "orders.yaml"))
  }

  private func task(_ id: Int, _ state: String) -> Double? {
    PrometheusText(registry).value(
      "sluice_task_state", ["connector": "orders", "task": "\(id)", "state": state])
  }

  func testTaskStateFlipsToTheCurrentState() {
    gauges.update(from: board)
    XCTAssertEqual(task(0, "RUNNING"), 1)
    XCTAssertEqual(task(0, "FAILED"), 0)
    XCTAssertEqual(task(1, "UNASSIGNED"), 1)
    XCTAssertEqual(task(1, "RUNNING"), 0)
    XCTAssertEqual(
      PrometheusText(registry).series("sluice_task_state").count,
      2 * ConnectorState.allCases.count, "one series per task and state")

    board.updateTask("orders", 0) { $0.state = .failed }
    gauges.update(from: board)
    XCTAssertEqual(task(0, "FAILED"), 1)
    XCTAssertEqual(task(0, "RUNNING"), 0)
    XCTAssertEqual(
      PrometheusText(registry).value(
        "sluice_connector_state", ["connector": "orders", "state": "RUNNING"]), 1)
  }

  func testARemovedConnectorsStatesLeave() {
    gauges.update(from: board)
    board.remove("orders")
    gauges.update(from: board)
    let text = PrometheusText(registry)
    XCTAssertTrue(text.series("sluice_task_state").isEmpty, "\(text.samples)")
    XCTAssertTrue(text.series("sluice_connector_state").isEmpty, "\(text.samples)")
  }
}
