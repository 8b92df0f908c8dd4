import Foundation
import SluiceLog
import XCTest

/// A fresh data dir per test, removed afterwards.
class LogTestCase: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    directory =
      FileManager.default.temporaryDirectory.appendingPathComponent(
        "sluice-log-\(UUID().uuidString)"
      ).path
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func record(_ i: Int, size: Int = 100, timestamp: Int64 = 1_700_000_000_000) -> LogRecord {
    let value =
      Array("value-\(i)-".utf8) + [UInt8](repeating: UInt8(i % 251), count: max(0, size - 12))
    return LogRecord(
      timestamp: timestamp + Int64(i), key: Array("key-\(i)".utf8), value: value,
      headers: [LogHeader(name: "n", value: Array("\(i)".utf8))])
  }

  func segmentFiles(_ topic: String, _ partition: Int = 0) throws -> [String] {
    let dir = "\(directory!)/topics/\(topic)/\(partition)"
    return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".log") }
      .sorted().map { "\(dir)/\($0)" }
  }

  func readAll(_ log: EmbeddedLog, _ topic: String, _ partition: Int = 0) throws
    -> [StoredLogRecord]
  {
    var out: [StoredLogRecord] = []
    var next = try log.offsets(topic: topic, partition: partition).start
    while true {
      let batch = try log.read(topic: topic, partition: partition, from: next, maxRecords: 1000)
      guard let last = batch.last else { return out }
      out += batch
      next = last.offset + 1
    }
  }
}
