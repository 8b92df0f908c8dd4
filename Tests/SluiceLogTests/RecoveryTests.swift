import Foundation
import SluiceLog
import XCTest

/// Start-up after a crash: the state a `kill -9` leaves is simulated by not calling `close()`
/// (no clean-shutdown marker) and by cutting or damaging the segment file.
final class RecoveryTests: LogTestCase {
  private func writeBatches(_ count: Int, recordsPerBatch: Int = 3) async throws -> (
    file: String, sizes: [Int]
  ) {
    let log = try EmbeddedLog(directory: directory)
    try log.createTopic("t", partitions: 1)
    var sizes: [Int] = []
    var previous = 0
    for b in 0..<count {
      _ = try await log.append(
        (0..<recordsPerBatch).map { record(b * recordsPerBatch + $0) }, topic: "t", partition: 0)
      let size =
        try FileManager.default.attributesOfItem(atPath: try segmentFiles("t")[0])[.size] as! Int
      sizes.append(size - previous)
      previous = size
    }
    log.close()
    // Simulate a crash: no clean-shutdown marker.
    try FileManager.default.removeItem(atPath: directory + "/.clean-shutdown")
    return (try segmentFiles("t")[0], sizes)
  }

  func testSegmentCutInTheMiddleOfABatchRecoversToTheLastCompleteBatchAndAcceptsAppends()
    async throws
  {
    let (file, sizes) = try await writeBatches(5)
    let complete = sizes.prefix(4).reduce(0, +)
    try truncate(file, to: complete + sizes[4] / 2)

    let log = try EmbeddedLog(directory: directory)
    XCTAssertEqual(
      try log.offsets(topic: "t", partition: 0).end, 12, "four complete batches of three")
    XCTAssertEqual(try readAll(log, "t").map(\.offset), (0..<12).map { Int64($0) })
    XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int, complete)
    let base = try await log.append([record(100), record(101)], topic: "t", partition: 0)
    XCTAssertEqual(base, 12)
    XCTAssertEqual(try readAll(log, "t").map(\.offset), (0..<14).map { Int64($0) })
    log.close()
  }

  func testZerosAtTheTailAreCutOff() async throws {
    let (file, sizes) = try await writeBatches(3)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
    handle.seekToEndOfFile()
    handle.write(Data(count: 4096))
    try handle.close()
    let log = try EmbeddedLog(directory: directory)
    XCTAssertEqual(try log.offsets(topic: "t", partition: 0).end, 9)
    XCTAssertEqual(
      try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int, sizes.reduce(0, +))
    log.close()
  }

  func testCorruptionFollowedByIntactBatchesRefusesToStartNamingFileAndByte() async throws {
    let (file, sizes) = try await writeBatches(4)
    let position = sizes[0] + 70
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    XCTAssertGreaterThan(bytes.count, position, "sizes \(sizes)")
    bytes[position] ^= 0x55
    try Data(bytes).write(to: URL(fileURLWithPath: file))

    XCTAssertThrowsError(try EmbeddedLog(directory: directory)) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains(file) && text.contains("byte \(sizes[0])"), text)
      XCTAssertTrue(text.contains("followed by an intact one"), text)
    }
    // Nothing was cut: every byte is still there for an operator to inspect.
    XCTAssertEqual(
      try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int, sizes.reduce(0, +))
  }

  func testCleanShutdownReopensWithoutLosingAnything() async throws {
    let log = try EmbeddedLog(
      directory: directory, configuration: LogConfiguration(indexIntervalBytes: 256))
    try log.createTopic("t", partitions: 3)
    for i in 0..<50 { _ = try await log.append([record(i)], topic: "t", partition: i % 3) }
    log.close()
    let reopened = try EmbeddedLog(directory: directory)
    XCTAssertEqual(reopened.partitionCount(of: "t"), 3)
    XCTAssertEqual(
      (0..<3).map { (try? reopened.offsets(topic: "t", partition: $0).end) ?? -1 }, [17, 17, 16])
    XCTAssertEqual(
      try reopened.read(topic: "t", partition: 2, from: 10, maxRecords: 1).first?.value,
      record(32).value)
    reopened.close()
  }

  private func truncate(_ file: String, to size: Int) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
    try handle.truncate(atOffset: UInt64(size))
    try handle.close()
  }
}
