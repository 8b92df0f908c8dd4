import Foundation
import SluiceTestBrokers
import XCTest

/// A worker whose topics live on a Kafka cluster (`store: { kind: kafka }`): Tansu, started by
/// the test, is the cluster; a file source writes lines to a topic on it and a file sink (a
/// consumer group `connect-lines-out` on Tansu) copies them to a file.
final class KafkaStoreWorkerTests: XCTestCase {
  func testFileLinesGoThroughATansuTopicOnceEach() throws {
    let tansu = try BrokerProcess(.tansu)
    try tansu.start()
    defer { tansu.stop() }
    let worker = try WorkerProcess(
      workerYAMLExtra:
        "store: { kind: kafka, bootstrap: [\(tansu.address)], default_partitions: 2 }")
    let input = worker.directory.appendingPathComponent("in.txt")
    let output = worker.directory.appendingPathComponent("out.jsonl")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    try worker.writeConnector(
      "lines-in",
      """
      name: lines-in
      source: file
      topic: lines
      config: { path: \(input.path), batch_lines: 200, poll_ms: 20 }
      """)
    try worker.writeConnector(
      "lines-out",
      """
      name: lines-out
      sink: file
      topics: [lines]
      config: { path: \(output.path) }
      """)
    try worker.start()

    let total = 3_000
    let writer = LineWriter(url: input, total: total, linesPerChunk: 100, pause: 0.01)
    writer.start()
    // Tansu takes ~23 s to complete a group's first assignment.
    let values = try waitForValues(in: output, count: total, worker: worker, timeout: 120)
    XCTAssertEqual(values.count, total, "sink holds \(values.count) lines, want \(total)")
    XCTAssertEqual(Set(values), Set((1...total).map { LineWriter.line($0) }), "lines missing")
    XCTAssertEqual(Set(values).count, values.count, "duplicates in the sink file")
    // The topic is on Tansu: the worker's API lists it from the cluster.
    let topic = try worker.getJSON("/topics/lines") as? [String: Any]
    let partitions = topic?["partitions"] as? [[String: Any]]
    XCTAssertEqual(partitions?.count, 2, "\(String(describing: topic))")
    XCTAssertFalse(worker.log().contains("data/log"), "the embedded log was opened")
    // Status says where the topics are: the store's kind and the cluster's brokers.
    let info = try worker.getJSON("/") as? [String: Any]
    let store = info?["store"] as? [String: Any]
    XCTAssertEqual(store?["kind"] as? String, "kafka", "\(String(describing: info))")
    XCTAssertEqual(store?["brokers"] as? [String], [tansu.address], "\(String(describing: info))")
    XCTAssertNotNil(info?["kafka_cluster_id"] as? String, "\(String(describing: info))")
    let summary = try runSluice(["status", "--api", worker.apiURL]).stdout
    XCTAssertTrue(
      summary.contains("store: kafka (brokers \(tansu.address)"), "sluice status said: \(summary)")
    // Kafka Connect's status records in the status topic, as librdkafka reads them.
    try waitUntil("RUNNING in the status topic", timeout: 20) {
      let states = Dictionary(
        try tansu.committedRecords("sluice-status", idle: 1).compactMap { record in
          (record["key"] as? String).map {
            ($0, ((record["value"] as? [String: Any])?["state"] as? String) ?? "")
          }
        }, uniquingKeysWith: { _, last in last })
      return ["status-connector-lines-in", "status-task-lines-in-0", "status-connector-lines-out",
        "status-task-lines-out-0"].allSatisfy { states[$0] == "RUNNING" }
    }
    _ = worker.terminate()
  }
}
