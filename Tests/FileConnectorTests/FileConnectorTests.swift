import Foundation
import Logging
import SluiceCore
import XCTest

@testable import FileConnector

final class FileConnectorTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-file-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  func testPartialLastLineWaitsForItsNewline() throws {
    let path = directory.appendingPathComponent("in.txt").path
    try "a\r\nbb\nc".write(toFile: path, atomically: false, encoding: .utf8)
    let file = try TailedFile(path: path, offset: 0)
    let first = try file.readLines(maxLines: 10, maxLineBytes: 1 << 20)
    XCTAssertEqual(first.map { String(decoding: $0.bytes, as: UTF8.self) }, ["a", "bb"])
    XCTAssertEqual(first.map(\.end), [3, 6])
    XCTAssertEqual(
      try file.readLines(maxLines: 10, maxLineBytes: 1 << 20).count, 0, "no newline yet")

    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    handle.seekToEndOfFile()
    handle.write(Data("d\ne\n".utf8))
    try handle.close()
    let second = try file.readLines(maxLines: 1, maxLineBytes: 1 << 20)
    XCTAssertEqual(second.map { String(decoding: $0.bytes, as: UTF8.self) }, ["cd"])
    XCTAssertEqual(file.offset, 9)
    XCTAssertEqual(
      try file.readLines(maxLines: 10, maxLineBytes: 1 << 20).map {
        String(decoding: $0.bytes, as: UTF8.self)
      }, ["e"])

    // Resuming at a committed offset starts exactly at the next line.
    let resumed = try TailedFile(path: path, offset: 6)
    XCTAssertEqual(
      try resumed.readLines(maxLines: 10, maxLineBytes: 1 << 20).map {
        String(decoding: $0.bytes, as: UTF8.self)
      },
      ["cd", "e"])
  }

  func testPositionsOrderByGenerationThenOffset() {
    let early = FilePosition(generation: 1, offset: 900_000, inode: 99).sourcePosition
    let later = FilePosition(generation: 2, offset: 5, inode: 7).sourcePosition
    XCTAssertLessThan(early, later)
    XCTAssertLessThan(
      FilePosition(generation: 2, offset: 9, inode: 7).sourcePosition,
      FilePosition(generation: 2, offset: 10, inode: 7).sourcePosition)
    XCTAssertEqual(FilePosition(later), FilePosition(generation: 2, offset: 5, inode: 7))
    XCTAssertNil(FilePosition(SourcePosition("garbage")))
  }

  func testSinkCutsATornLastLineAndResumesAfterTheFilesOwnOffsets() async throws {
    let path = directory.appendingPathComponent("out.jsonl").path
    let line0 = RecordJSON.line(
      for: Record(
        topic: "t", partition: 0, offset: 0, timestamp: 1, key: nil, value: Array("a".utf8)))
    let line1 = RecordJSON.line(
      for: Record(
        topic: "t", partition: 1, offset: 7, timestamp: 1, key: nil, value: Array("b".utf8)))
    let line2 = RecordJSON.line(
      for: Record(
        topic: "t", partition: 0, offset: 1, timestamp: 1, key: nil, value: Array("c".utf8)))
    let complete = [line0, line1, line2].map { $0 + "\n" }.joined()
    try (complete + #"{"topic":"t","partition":0,"off"#).write(
      toFile: path, atomically: false, encoding: .utf8)

    let task = try FileSinkTask(
      config: FileSinkConfig(path: path, format: .json), context: TestSinkContext())
    let offsets = try await task.open([
      TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 2),
    ])
    XCTAssertEqual(offsets, [TopicPartition("t", 0): 2, TopicPartition("t", 1): 8])
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), complete)

    try await task.put([
      Record(topic: "t", partition: 0, offset: 2, timestamp: 1, key: nil, value: Array("d".utf8))
    ])
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 4)
    XCTAssertTrue(lines.last!.contains(#""offset":2"#))
  }

  func testUnknownConfigKeyIsReportedAtItsPosition() throws {
    let definition = try ConnectorDefinition.parse(
      text: "name: x\nsource: file\ntopic: t\nconfig:\n  path: /tmp/x\n  poll: 5\n", file: "x.yaml",
      environment: [:])
    XCTAssertThrowsError(try FileSourceConnector(definition: definition)) { error in
      XCTAssertEqual(
        "\(error)", "x.yaml:6:3: config.poll: unknown key 'poll'; did you mean 'poll_ms'?")
    }
    let templated = try ConnectorDefinition.parse(
      text: "name: x\nsource: file\ntopic: logs.{host}\nconfig: { path: /tmp/x }\n", file: "x.yaml",
      environment: [:])
    XCTAssertThrowsError(try FileSourceConnector(definition: templated)) { error in
      XCTAssertTrue(
        "\(error)".hasPrefix("x.yaml:3:8: topic: unknown placeholder '{host}'"), "\(error)")
    }
  }
}

struct TestSinkContext: SinkTaskContext {
  var connectorName = "test"
  var taskIndex = 0
  var logger = Logger(label: "test")
  func setDetail(_ name: String, _ value: String?) {}
}

/// KIP-875 for the file source: FileStreamSource's shape, and a rewind that lands in a new
/// generation so the runtime does not drop the lines read again as replays.
final class FileSourceOffsetsTests: XCTestCase {
  func testAlterAndResetCommitANewGeneration() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "file-offsets-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("in.txt").path
    try "a\nb\nc\n".write(toFile: path, atomically: false, encoding: .utf8)
    let connector = try FileSourceConnector(
      definition: ConnectorDefinition.parse(
        text: "name: f\nsource: file\ntopic: lines\nconfig: { path: \(path) }", file: "f.yaml",
        environment: [:]))
    let inode = try XCTUnwrap(FileSourceTask.inode(of: path))
    let committed = FilePosition(generation: 3, offset: 6, inode: inode).sourcePosition

    let shown = try await connector.offsets(committed: committed)
    XCTAssertEqual(
      shown,
      [ConnectorOffset(partition: ["filename": .string(path)], offset: ["position": .int(6)])])

    let moved = try await connector.alterOffsets(
      [ConnectorOffset(partition: ["filename": .string(path)], offset: ["position": .int(2)])],
      committed: committed)
    let expected = FilePosition(generation: 4, offset: 2, inode: inode).sourcePosition
    XCTAssertEqual(moved, .commit(expected))
    XCTAssertGreaterThan(expected, committed, "lines read again sort after those written before")

    let reset = try await connector.resetOffsets(committed: committed)
    XCTAssertEqual(
      reset, .commit(FilePosition(generation: 4, offset: 0, inode: inode).sourcePosition))

    for (offset, problem) in [
      (["position": JSONValue.int(7)], "past the end"),
      (["position": .string("2")], "position"),
      (["pos": .int(1)], "position"),
    ] {
      do {
        _ = try await connector.alterOffsets(
          [ConnectorOffset(partition: ["filename": .string(path)], offset: offset)],
          committed: committed)
        XCTFail("\(offset) should be refused")
      } catch let error as ConnectorOffsetsError {
        XCTAssertTrue(error.message.contains(problem), error.message)
      }
    }
  }
}
