import Prometheus
import XCTest

@testable import SluiceCore

/// `sluice_sink_lag_records` per partition: set by the task's reports, gone for partitions the
/// group revoked and for every partition once the task stops.
final class SinkLagGaugesTests: XCTestCase {
  private let registry = PrometheusCollectorRegistry()

  private func lag(_ partition: Int) -> Double? {
    PrometheusText(registry).value(
      "sluice_sink_lag_records",
      ["connector": "out", "topic": "orders", "partition": "\(partition)"])
  }

  func testARevokedPartitionsLagLeaves() {
    var gauges = SinkLagGauges(
      connector: "out", factory: PrometheusMetricsFactory(registry: registry))
    let (p0, p1) = (TopicPartition("orders", 0), TopicPartition("orders", 1))
    gauges.report([p0: 5, p1: 7])
    XCTAssertEqual(lag(0), 5)
    XCTAssertEqual(lag(1), 7)

    gauges.remove([p1])
    XCTAssertEqual(lag(0), 5)
    XCTAssertNil(lag(1), "revoked")

    gauges.report([p0: 0])
    XCTAssertEqual(lag(0), 0)
    gauges.removeAll()
    XCTAssertTrue(PrometheusText(registry).series("sluice_sink_lag_records").isEmpty)
  }

  func testAPartitionMissingFromAReportLeaves() {
    var gauges = SinkLagGauges(
      connector: "out", factory: PrometheusMetricsFactory(registry: registry))
    gauges.report([TopicPartition("orders", 0): 3, TopicPartition("orders", 1): 4])
    gauges.report([TopicPartition("orders", 1): 2])
    XCTAssertNil(lag(0))
    XCTAssertEqual(lag(1), 2)
  }

  /// Two tasks of one connector: the old owner's removal of a moved partition takes the series
  /// the new owner had set (the registry holds one per labels); the new owner's next report
  /// puts it back.
  func testAPartitionMovedBetweenTasksComesBackWithTheNextReport() {
    let factory = PrometheusMetricsFactory(registry: registry)
    var old = SinkLagGauges(connector: "out", factory: factory)
    var new = SinkLagGauges(connector: "out", factory: factory)
    let p0 = TopicPartition("orders", 0)
    old.report([p0: 9])
    new.report([p0: 4])
    old.remove([p0])
    new.report([p0: 3])
    XCTAssertEqual(lag(0), 3)
  }
}
