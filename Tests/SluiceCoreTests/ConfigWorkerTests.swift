import Foundation
import SluiceCore
import XCTest

/// The worker file: defaults, a full file, and its checks.
final class ConfigWorkerTests: XCTestCase {
  func testDefaultWorkerFileFromTheDesign() throws {
    let worker = try WorkerConfig.parse(
      text: """
        # Config/worker.yaml
        data_dir: data
        connectors_dir: Config/connectors
        api: { listen: 127.0.0.1:8083 }
        log: { partitions: 1, segment_bytes: 256MiB, retention_hours: 168, fsync: batch }
        """, file: "Config/worker.yaml", environment: [:])
    XCTAssertEqual(worker.file, "Config/worker.yaml")
    XCTAssertEqual(worker.dataDir, "data", "relative paths are kept as written")
    XCTAssertEqual(worker.connectorsDir, "Config/connectors")
    XCTAssertEqual(worker.api, WorkerConfig.API(host: "127.0.0.1", port: 8083))
    XCTAssertEqual(worker.log, WorkerConfig.Log())
    XCTAssertEqual(worker.workerID, ProcessInfo.processInfo.hostName)
  }

  func testEveryKeyOfAFullWorkerFile() throws {
    let worker = try WorkerConfig.parse(
      text: """
        data_dir: /var/lib/sluice
        connectors_dir: ${env:SLUICE_CONNECTORS:-/etc/sluice/connectors}
        worker_id: worker-1
        api:
          listen: 0.0.0.0:9000
        log:
          partitions: 4
          segment_bytes: 64MiB
          segment_ms: 1d
          retention_hours: 24
          retention_bytes: 1GiB
          fsync: interval
          fsync_interval_ms: 250
          max_record_bytes: 2MiB
        """, file: "w.yaml", environment: [:])
    XCTAssertEqual(worker.dataDir, "/var/lib/sluice")
    XCTAssertEqual(worker.connectorsDir, "/etc/sluice/connectors")
    XCTAssertEqual(worker.workerID, "worker-1")
    XCTAssertEqual(worker.api, WorkerConfig.API(host: "0.0.0.0", port: 9000))
    XCTAssertEqual(
      worker.log,
      WorkerConfig.Log(
        partitions: 4, segmentBytes: 64 << 20, segmentMs: 86_400_000, retentionMs: 24 * 3_600_000,
        retentionBytes: 1 << 30, fsync: .interval, fsyncIntervalMs: 250, maxRecordBytes: 2 << 20))
  }

  func testEmptySectionsKeepTheDefaults() throws {
    let worker = try WorkerConfig.parse(text: "api:\nlog: {}\n", file: "w.yaml", environment: [:])
    XCTAssertEqual(worker.api, WorkerConfig.API())
    XCTAssertEqual(worker.log, WorkerConfig.Log())
  }

  func testRetentionInMillisecondsOrForever() throws {
    XCTAssertEqual(
      try WorkerConfig.parse(text: "log: { retention_ms: 30m }\n", file: "w.yaml", environment: [:])
        .log.retentionMs,
      1_800_000)
    XCTAssertNil(
      try WorkerConfig.parse(
        text: "log: { retention_hours: -1 }\n", file: "w.yaml", environment: [:]
      ).log.retentionMs)
    XCTAssertEqual(
      ConfigTestSupport.workerError("log:\n  retention_hours: 1\n  retention_ms: 1h\n"),
      "worker.yaml:3:3: log.retention_ms: give either retention_hours or retention_ms, not both")
  }

  func testOutOfRangeLogValues() {
    XCTAssertEqual(
      ConfigTestSupport.workerError("log:\n  partitions: 0\n"),
      "worker.yaml:2:15: log.partitions: expected an integer from 1 to 100000, got 0")
    XCTAssertEqual(
      ConfigTestSupport.workerError("log:\n  segment_bytes: 100\n"),
      "worker.yaml:2:18: log.segment_bytes: expected a size of at least 1KiB, got 100 bytes")
    XCTAssertEqual(
      ConfigTestSupport.workerError("log:\n  max_record_bytes: 1GiB\n"),
      "worker.yaml:2:21: log.max_record_bytes: expected a size from 1B to 64MiB, got 1073741824 bytes"
    )
  }

  func testUnknownTopLevelKey() {
    XCTAssertEqual(
      ConfigTestSupport.workerError("data_dir: data\ndatadir: x\n"),
      "worker.yaml:2:1: datadir: unknown key 'datadir'; did you mean 'data_dir'?")
  }

  func testLoadReadsTheFile() throws {
    let directory = try ConfigTestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("worker.yaml").path
    try "data_dir: ${env:DATA}\nlog: { fsync: none }\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    let worker = try WorkerConfig.load(path: path, environment: ["DATA": "/srv/sluice"])
    XCTAssertEqual(worker.dataDir, "/srv/sluice")
    XCTAssertEqual(worker.log.fsync, .none)
    XCTAssertEqual(worker.file, path)
  }
}
