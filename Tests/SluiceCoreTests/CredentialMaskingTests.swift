import Foundation
import Logging
import SluiceLog
import Synchronization
import XCTest

@testable import SluiceCore

/// A URL's password never leaves the worker through the two paths that quote connector errors
/// verbatim: dead-letter headers and log lines.
final class CredentialMaskingTests: XCTestCase {
  func testDeadLetterHeadersMaskURLPasswords() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-cm-\(UUID().uuidString)")
    let log = try EmbeddedLog(directory: directory.appendingPathComponent("log").path)
    defer {
      log.close()
      try? FileManager.default.removeItem(at: directory)
    }
    let offsets = try FileOffsetStore(directory: directory.appendingPathComponent("offsets").path)
    let store = EmbeddedTopicStore(log: log, defaultPartitions: 1, groupOffsets: offsets)
    var registry = ConnectorRegistry()
    registry.registerSink("leaky") { _ in LeakySinkConnector() }
    let worker = Worker(
      store: store,
      offsets: offsets,
      registry: registry, workerID: "test", logger: Logger(label: "test"))
    try await store.createTopic("in", partitions: 1)
    _ = try await store.append(
      [OutgoingRecord(key: nil, value: Array("x".utf8))], to: TopicPartition("in", 0))
    let definition = try ConnectorDefinition.parse(
      text: """
        name: leaky
        sink: leaky
        topics: [in]
        errors: { tolerance: all, dlq_topic: leaky.dlq, retries: 0 }
        """, file: directory.appendingPathComponent("leaky.yaml").path, environment: [:])
    await worker.apply([definition], errors: [])

    var dlq: [Record] = []
    let deadline = ContinuousClock.now + .seconds(10)
    while dlq.isEmpty && ContinuousClock.now < deadline {
      if try await store.partitionCount(of: "leaky.dlq") != nil {
        dlq = try await store.read(
          from: TopicPartition("leaky.dlq", 0), offset: 0, maxRecords: 10, maxBytes: 1 << 20)
      }
      try await Task.sleep(for: .milliseconds(20))
    }
    await worker.stopAll()
    let reason = dlq.first?.header(DeadLetterHeaders.reason).map {
      String(decoding: $0, as: UTF8.self)
    }
    XCTAssertEqual(reason, "POST http://loader:***@receiver/x returned 500")
    let url = dlq.first?.header("sluice.error.url").map { String(decoding: $0, as: UTF8.self) }
    XCTAssertEqual(url, "http://loader:***@receiver/x")
  }

  func testLogLinesMaskURLPasswordsInMessageAndMetadata() {
    let lines = CapturedLines()
    let logger = Logger(label: "t") { _ in MaskingLogHandler(wrapping: CapturingHandler(lines)) }
    logger.error(
      "cannot connect to postgresql://sluice:hunter2@db/shop",
      metadata: [
        "url": "mqtt://plant:hunter2@broker:1883", "nested": ["http://a:hunter2@h"],
      ])
    let line = lines.all.joined()
    XCTAssertFalse(line.contains("hunter2"), line)
    XCTAssertTrue(line.contains("postgresql://sluice:***@db/shop"), line)
    XCTAssertTrue(line.contains("mqtt://plant:***@broker:1883"), line)
    XCTAssertTrue(line.contains("http://a:***@h"), line)
  }

  func testSecretKeyValuesAreMaskedInQueriesAndConnectionStrings() {
    XCTAssertEqual(
      CredentialMask.masking("POST http://u:pw@h/in?api_key=abc123&n=1 returned 500"),
      "POST http://u:***@h/in?api_key=***&n=1 returned 500")
    XCTAssertEqual(
      CredentialMask.masking("GET https://h/x?access_token=t0k#frag"),
      "GET https://h/x?access_token=***#frag")
    XCTAssertEqual(
      CredentialMask.masking("host=db port=5432 password='a b c' dbname=shop"),
      "host=db port=5432 password='***' dbname=shop")
    XCTAssertEqual(
      CredentialMask.masking("host=db PASSWORD=hunter2;user=x"), "host=db PASSWORD=***;user=x")
    XCTAssertEqual(
      CredentialMask.masking("X-Api-Key=k3y, client-secret=\"s e\", sslpassword=p"),
      "X-Api-Key=k3y, client-secret=\"***\", sslpassword=***")
    // Keys that name no secret, and text without any, stay as they were.
    for text in [
      "offset=5 partition=0 key=abc", "a == b", "passwords=", "token=", "monkey=banana",
      "no equals sign",
    ] {
      XCTAssertEqual(CredentialMask.masking(text), text)
    }
  }
}

/// A sink whose every record fails with an error that quotes a URL with its password, and that
/// dead-letters it with the URL as an extra header, as the HTTP sink does.
struct LeakySinkConnector: SinkConnector {
  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask {
    LeakySinkTask(context: context)
  }
}

/// The task of ``LeakySinkConnector``.
struct LeakySinkTask: SinkTask {
  let context: any SinkTaskContext
  func put(_ records: [Record]) async throws {
    for record in records {
      try await context.deadLetter(
        record, reason: "POST http://loader:s3cret@receiver/x returned 500", attempts: 1,
        headers: [RecordHeader("sluice.error.url", "http://loader:s3cret@receiver/x")])
    }
  }
}

/// Lines a ``CapturingHandler`` was given.
final class CapturedLines: Sendable {
  private let lines = Mutex<[String]>([])
  func add(_ line: String) { lines.withLock { $0.append(line) } }
  var all: [String] { lines.withLock { $0 } }
}

/// A log handler that keeps each message with its metadata.
struct CapturingHandler: LogHandler {
  let lines: CapturedLines
  var logLevel: Logger.Level = .trace
  var metadata: Logger.Metadata = [:]

  init(_ lines: CapturedLines) { self.lines = lines }

  subscript(metadataKey key: String) -> Logger.MetadataValue? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    lines.add("\(event.message) \(event.metadata ?? [:])")
  }
}
