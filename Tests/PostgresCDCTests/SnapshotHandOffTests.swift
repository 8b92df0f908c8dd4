import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// The snapshot's readers-to-writer hand-off without a database: which batch the writer takes
/// next, and which batches merge into one send.
final class SnapshotHandOffTests: XCTestCase {
  /// A batch of `part` with one record per id (its key), in one partition when `keyless`.
  private func batch(_ part: Int, _ ids: [Int], keyless: Bool = false) -> SnapshotHandOff.Item {
    let keys = ids.map { Array("\($0)".utf8) }
    return .batch(
      SnapshotBatch(
        part: part,
        records: keys.map {
          SourceRecord(
            topic: "t", partition: keyless ? 0 : nil, key: $0, value: nil, position: nil)
        },
        keys: keys, rows: ids.count, skipped: 0))
  }

  /// `part:key,key…`, `part done`, or `end`.
  private func take(_ handOff: SnapshotHandOff, max: Int = 100) async throws -> String {
    switch try await handOff.take(maxRecords: max) {
    case .batch(let batch)?:
      XCTAssertEqual(batch.keys, batch.records.map { $0.key! }, "keys stay beside their records")
      XCTAssertEqual(batch.rows, batch.records.count)
      return "\(batch.part):"
        + batch.records.map { String(decoding: $0.key!, as: UTF8.self) }.joined(separator: ",")
    case .finished(let part)?: return "\(part) done"
    case nil: return "end"
    }
  }

  func testTheWriterTakesItsPartsBatchesMergedAndInOrder() async throws {
    let handOff = SnapshotHandOff(work: [], readers: 2, capacity: 10)
    try await handOff.put(batch(0, [1, 2]))
    try await handOff.put(batch(1, [10]))
    try await handOff.put(batch(0, [3]))
    try await handOff.put(batch(1, [11]))
    try await handOff.put(.finished(part: 0))
    let first = try await take(handOff)
    XCTAssertEqual(first, "0:1,2,3", "the part's waiting batches merge, past another part's")
    let second = try await take(handOff)
    XCTAssertEqual(second, "0 done", "a part ends after its batches")
    let third = try await take(handOff)
    XCTAssertEqual(third, "1:10,11")
    await handOff.readerEnded(nil)
    await handOff.readerEnded(nil)
    let last = try await take(handOff)
    XCTAssertEqual(last, "end")
  }

  func testTheWriterStaysWithThePartItTookLastUntilItEndsOrTheHandOffIsFull() async throws {
    let handOff = SnapshotHandOff(work: [], readers: 2, capacity: 3)
    try await handOff.put(batch(0, [1]))
    let first = try await take(handOff)
    XCTAssertEqual(first, "0:1")
    try await handOff.put(batch(1, [10]))
    try await handOff.put(batch(0, [2]))
    let second = try await take(handOff)
    XCTAssertEqual(second, "0:2", "part 0 again, though part 1's batch is older")
    // Nothing of part 0 waits: the writer waits for it, though part 1 has a batch waiting…
    let waiting = Task { try await handOff.take(maxRecords: 100) }
    try await Task.sleep(for: .milliseconds(100))
    try await handOff.put(batch(0, [3]))
    guard case .batch(let third)? = try await waiting.value else {
      return XCTFail("expected a batch")
    }
    XCTAssertEqual(third.part, 0, "the writer waited for part 0")
    XCTAssertEqual(third.keys, [Array("3".utf8)])
    // …until the hand-off is full: then the oldest batch, and its part is the writer's.
    try await handOff.put(batch(1, [11]))
    try await handOff.put(batch(1, [12]))
    let fourth = try await take(handOff)
    XCTAssertEqual(fourth, "1:10,11,12", "full: part 1's batches, merged")
    try await handOff.put(batch(0, [4]))
    try await handOff.put(.finished(part: 1))
    let fifth = try await take(handOff)
    XCTAssertEqual(fifth, "1 done", "part 1 is the writer's until it ends")
    let sixth = try await take(handOff)
    XCTAssertEqual(sixth, "0:4", "then whatever waits")
    await handOff.readerEnded(nil)
    await handOff.readerEnded(nil)
    let last = try await take(handOff)
    XCTAssertEqual(last, "end")
  }

  func testMergingStopsAtTheSendSizeAndNeverTakesAKeylessPartsBatches() async throws {
    let handOff = SnapshotHandOff(work: [], readers: 1, capacity: 10)
    try await handOff.put(batch(0, [1, 2]))
    try await handOff.put(batch(0, [3, 4]))
    try await handOff.put(batch(0, [5]))
    let full = try await take(handOff, max: 4)
    XCTAssertEqual(full, "0:1,2,3,4")
    let rest = try await take(handOff, max: 4)
    XCTAssertEqual(rest, "0:5")
    try await handOff.put(.finished(part: 0))
    let done = try await take(handOff)
    XCTAssertEqual(done, "0 done")
    // Each send of a keyless part goes to one partition of its own.
    try await handOff.put(batch(2, [6], keyless: true))
    try await handOff.put(batch(2, [7], keyless: true))
    let one = try await take(handOff)
    XCTAssertEqual(one, "2:6")
    let other = try await take(handOff)
    XCTAssertEqual(other, "2:7")
  }
}
