import Foundation
import XCTest

@testable import SluiceCore

/// The offsets files: commits that arrive together are all kept, a commit is on disk when it
/// returns, and a file that cannot be read is an error, never "nothing committed yet".
final class FileOffsetStoreTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-offsets-\(UUID().uuidString)")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  /// Concurrent commits of different partitions of one sink are read-modify-writes of one file:
  /// none may overwrite another's partition.
  func testConcurrentSinkCommitsOfDifferentPartitionsAreAllKept() async throws {
    let store = try FileOffsetStore(directory: directory.path)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for p in 0..<64 {
        group.addTask {
          try await store.commitSinkOffsets(
            [TopicPartition("t", p): Int64(p + 100)], connector: "sink")
        }
      }
      try await group.waitForAll()
    }
    let reopened = try FileOffsetStore(directory: directory.path)
    let offsets = try await reopened.sinkOffsets(connector: "sink")
    XCTAssertEqual(offsets.count, 64)
    for p in 0..<64 { XCTAssertEqual(offsets[TopicPartition("t", p)], Int64(p + 100)) }
  }

  func testACommittedPositionIsInTheFileWhenTheCommitReturns() async throws {
    let store = try FileOffsetStore(directory: directory.path)
    try await store.commitSourcePosition(SourcePosition("0000000000000010"), connector: "src")
    let data = try Data(contentsOf: directory.appendingPathComponent("src.json"))
    XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("0000000000000010"))
  }

  /// Before, any read failure (EMFILE, EISDIR, EIO) looked like a missing file, and the
  /// connector started over from the beginning.
  func testAnUnreadableOffsetsFileIsAnErrorNotAnEmptyPosition() async throws {
    try FileManager.default.createDirectory(
      at: directory.appendingPathComponent("src.json"), withIntermediateDirectories: true)
    let store = try FileOffsetStore(directory: directory.path)
    do {
      let position = try await store.sourcePosition(connector: "src")
      XCTFail("read an unreadable file as \(String(describing: position))")
    } catch let error as OffsetStoreError {
      XCTAssertTrue(error.message.contains("cannot read offsets file"), error.message)
    }
  }

  func testAFailedWriteIsThrownAndChangesNothing() async throws {
    let store = try FileOffsetStore(directory: directory.path)
    try await store.commitSourcePosition(SourcePosition("01"), connector: "src")
    // A directory where the temporary file goes: the write fails, whoever runs the test.
    try FileManager.default.createDirectory(
      at: directory.appendingPathComponent("src.json.tmp"), withIntermediateDirectories: true)
    do {
      try await store.commitSourcePosition(SourcePosition("02"), connector: "src")
      XCTFail("the write cannot have worked")
    } catch let error as OffsetStoreError {
      XCTAssertTrue(error.message.contains("cannot write offsets file"), error.message)
    }
    let position = try await store.sourcePosition(connector: "src")
    XCTAssertEqual(position, SourcePosition("01"), "the store answers what is on disk")
  }
}
