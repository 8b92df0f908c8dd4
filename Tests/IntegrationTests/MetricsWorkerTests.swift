import Foundation
import XCTest

/// `GET /metrics` of a real worker running a file source → topic → file sink pipeline, read by
/// prometheus-client's parser before and after records flow: the task counters move by the
/// records written, the tasks are RUNNING, the log shows the topic's appends and segments, a
/// record the sink's transform fails on is dead-lettered and counted, one it filters out is
/// counted as dropped, and the sink's lag comes back to 0.
final class MetricsWorkerTests: XCTestCase {
  func testCountersStatesLogAndLagFollowAFilePipeline() throws {
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("in.txt")
    let output = worker.directory.appendingPathComponent("out.txt")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    try worker.writeConnector(
      "metered-in",
      """
      name: metered-in
      source: file
      topic: metered
      config: { path: \(input.path), poll_ms: 20 }
      """)
    // Lines are JSON: `n > 100` is filtered out, a line that is not JSON makes the transform
    // fail, and with errors.tolerance all that record goes to metered-out.dlq.
    try worker.writeConnector(
      "metered-out",
      """
      name: metered-out
      sink: file
      topics: [metered]
      config: { path: \(output.path), format: value }
      errors: { tolerance: all }
      transforms:
        - name: no-big-ones
          type: filter_if
          if: 'value.n > 100'
      """)
    try worker.start()
    defer { _ = worker.terminate() }
    let source = ["connector": "metered-in", "task": "0"]
    let sink = ["connector": "metered-out", "task": "0"]

    try waitUntil("both tasks running") {
      let scrape = try MetricsScrape(worker)
      return scrape.value("sluice_task_state", source.merging(["state": "RUNNING"]) { $1 }) == 1
        && scrape.value("sluice_task_state", sink.merging(["state": "RUNNING"]) { $1 }) == 1
    }
    let before = try MetricsScrape(worker)
    XCTAssertEqual(before.families["sluice_task_state"], "gauge")
    XCTAssertEqual(before.families["sluice_source_records"], "counter")
    XCTAssertEqual(before.value("sluice_task_state", source.merging(["state": "FAILED"]) { $1 }), 0)
    XCTAssertEqual(
      before.value("sluice_connector_state", ["connector": "metered-out", "state": "RUNNING"]), 1)
    let sourceBefore = before.value("sluice_source_records_total", source) ?? 0
    let sinkBefore = before.value("sluice_sink_records_total", sink) ?? 0

    var lines = (1...20).map { #"{"n":\#($0)}"# }
    lines += [#"{"n":500}"#, "not json"]
    let handle = try FileHandle(forWritingTo: input)
    handle.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    try handle.close()

    try waitUntil("the sink delivered and dead-lettered") {
      let scrape = try MetricsScrape(worker)
      return scrape.value("sluice_sink_records_total", sink) == sinkBefore + 20
        && scrape.value("sluice_dlq_records_total", sink) == 1
    }
    try waitUntil("the sink's lag back to 0") {
      try MetricsScrape(worker).value(
        "sluice_sink_lag_records",
        ["connector": "metered-out", "topic": "metered", "partition": "0"]) == 0
    }
    let after = try MetricsScrape(worker)
    XCTAssertEqual(after.value("sluice_source_records_total", source), sourceBefore + 22)
    XCTAssertGreaterThan(after.value("sluice_source_bytes_total", source) ?? 0, 22 * 7)
    XCTAssertEqual(after.value("sluice_sink_records_total", sink), sinkBefore + 20)
    XCTAssertEqual(after.value("sluice_transform_dropped_records_total", sink), 1)
    XCTAssertEqual(after.value("sluice_dlq_records_total", sink), 1)
    XCTAssertEqual(after.value("sluice_task_errors_total", sink), 1, "the transform's failure")
    XCTAssertEqual(after.value("sluice_dlq_records_total", source), 0)
    XCTAssertEqual(after.value("sluice_task_state", sink.merging(["state": "RUNNING"]) { $1 }), 1)
    XCTAssertGreaterThanOrEqual(after.value("sluice_sink_batch_records_count", sink) ?? 0, 1)
    XCTAssertEqual(after.value("sluice_sink_batch_records_sum", sink), sinkBefore + 20)
    XCTAssertGreaterThanOrEqual(
      after.value("sluice_source_write_duration_seconds_count", source) ?? 0, 1)
    XCTAssertGreaterThanOrEqual(after.value("sluice_sink_put_duration_seconds_count", sink) ?? 0, 1)
    XCTAssertGreaterThanOrEqual(after.value("sluice_offset_commits_total", sink) ?? 0, 1)
    XCTAssertEqual(after.families["sluice_sink_put_duration_seconds"], "histogram")

    // The log: the topic's 22 records, and the dead letter in the DLQ topic.
    XCTAssertEqual(after.value("sluice_log_appended_records_total", ["topic": "metered"]), 22)
    XCTAssertEqual(
      after.value("sluice_log_appended_records_total", ["topic": "metered-out.dlq"]), 1)
    XCTAssertGreaterThanOrEqual(after.value("sluice_log_segments", ["topic": "metered"]) ?? 0, 1)
    XCTAssertGreaterThan(after.value("sluice_log_size_bytes", ["topic": "metered"]) ?? 0, 0)
    XCTAssertGreaterThanOrEqual(after.value("sluice_log_fsync_duration_seconds_count") ?? 0, 1)

    // A removed connector's series leave /metrics.
    try worker.removeConnector("metered-out")
    try waitUntil("the removed sink's series gone") {
      try MetricsScrape(worker).samples.allSatisfy { $0.labels["connector"] != "metered-out" }
    }
    XCTAssertEqual(
      try MetricsScrape(worker).value(
        "sluice_task_state", source.merging(["state": "RUNNING"]) { $1 }),
      1, "the other connector stays")
  }

  /// `metrics: false`: `/metrics` is a valid exposition with no samples, saying metrics are off.
  func testMetricsOffAnswersAnEmptyExposition() throws {
    let worker = try WorkerProcess(workerYAMLExtra: "metrics: false")
    try worker.start()
    defer { _ = worker.terminate() }
    let scrape = try MetricsScrape(worker)
    XCTAssertTrue(scrape.text.hasPrefix("# metrics are off"), scrape.text)
    XCTAssertTrue(scrape.samples.isEmpty, scrape.text)
  }
}
