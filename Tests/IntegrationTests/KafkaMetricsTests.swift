import Foundation
import XCTest

/// The Kafka listener's metrics on a real worker, driven by a real client (confluent-kafka in
/// `.build/kafka-venv`) and read by prometheus-client's parser: requests counted by API and
/// error code, and a consumer group's lag from its committed offsets to the log's end.
final class KafkaMetricsTests: KafkaWorkerTestCase {
  func testRequestsAreCountedAndGroupLagFollowsCommits() throws {
    let (worker, bootstrap) = try startKafkaWorker()
    defer { _ = worker.terminate() }
    try kafkaTool("produce", ["--bootstrap", bootstrap, "--topic", "metered", "--count", "100"])
    try kafkaTool(
      "consume",
      ["--bootstrap", bootstrap, "--topic", "metered", "--expect", "100", "--group", "meters"])

    let lag = ["group": "meters", "topic": "metered", "partition": "0"]
    var scrape = try MetricsScrape(worker)
    XCTAssertEqual(scrape.families["sluice_kafka_requests"], "counter")
    XCTAssertGreaterThan(
      scrape.value("sluice_kafka_requests_total", ["api": "Produce", "error_code": "0"]) ?? 0, 0)
    XCTAssertGreaterThan(
      scrape.value("sluice_kafka_requests_total", ["api": "Fetch", "error_code": "0"]) ?? 0, 0)
    XCTAssertGreaterThan(
      scrape.value("sluice_kafka_requests_total", ["api": "OffsetCommit", "error_code": "0"]) ?? 0,
      0)
    XCTAssertGreaterThan(
      scrape.value("sluice_kafka_request_duration_seconds_count", ["api": "Produce"]) ?? 0, 0)
    XCTAssertEqual(scrape.value("sluice_kafka_group_lag_records", lag), 0, "all 100 committed")
    XCTAssertEqual(scrape.value("sluice_log_appended_records_total", ["topic": "metered"]), 100)

    // 30 more records that the group has not read: its lag is 30.
    try kafkaTool("produce", ["--bootstrap", bootstrap, "--topic", "metered", "--count", "30"])
    scrape = try MetricsScrape(worker)
    XCTAssertEqual(scrape.value("sluice_kafka_group_lag_records", lag), 30)
  }
}
