import Prometheus
import XCTest

@testable import SluiceCore

/// A task's counters are counted per batch and a removed connector's series leave `/metrics`;
/// `metrics: false` answers a comment instead of an exposition.
final class TaskMetricsTests: XCTestCase {
  private let registry = PrometheusCollectorRegistry()
  private lazy var factory = PrometheusMetricsFactory(registry: registry)

  func testABatchCountsItsRecordsBytesAndSize() {
    let metrics = TaskMetrics(kind: .sink, connector: "out", task: 0, factory: factory)
    metrics.count(["ab", "cde", "f"]) { $0.utf8.count }
    metrics.count([String]()) { $0.utf8.count }
    let text = PrometheusText(registry)
    let labels = ["connector": "out", "task": "0"]
    XCTAssertEqual(text.value("sluice_sink_records_total", labels), 3)
    XCTAssertEqual(text.value("sluice_sink_bytes_total", labels), 6)
    XCTAssertEqual(text.value("sluice_sink_batch_records_count", labels), 1, "empty batches not")
    XCTAssertEqual(text.value("sluice_sink_batch_records_sum", labels), 3)
    XCTAssertNil(text.value("sluice_source_records_total", labels))
    XCTAssertEqual(text.value("sluice_sink_poll_duration_seconds_count", labels), 0)
  }

  func testRemovingAConnectorTakesOnlyItsTasksSeriesOut() {
    for task in 0..<2 {
      TaskMetrics(kind: .source, connector: "gone", task: task, factory: factory).errors.increment()
    }
    TaskMetrics(kind: .source, connector: "kept", task: 0, factory: factory).errors.increment()
    TaskMetrics.remove(kind: .source, connector: "gone", tasks: 2, factory: factory)
    let text = PrometheusText(registry)
    XCTAssertEqual(
      text.samples.keys.filter { $0.labels["connector"] == "gone" }.map(\.name), [],
      "every family of the removed connector")
    XCTAssertEqual(text.value("sluice_task_errors_total", ["connector": "kept", "task": "0"]), 1)
    XCTAssertNotNil(
      text.value("sluice_source_write_duration_seconds_count", ["connector": "kept", "task": "0"]))
  }

  func testSwitchedOffMetricsAnswerACommentOnly() {
    let metrics = WorkerMetrics()
    metrics.registry.makeCounter(name: "sluice_test_total").increment()
    XCTAssertTrue(
      String(decoding: metrics.exposition(), as: UTF8.self).contains("sluice_test_total"))
    metrics.switchOff()
    XCTAssertEqual(
      String(decoding: metrics.exposition(), as: UTF8.self),
      "# metrics are off (worker.yaml: metrics: false)\n")
  }
}
