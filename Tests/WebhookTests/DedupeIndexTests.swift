import SluiceCore
import XCTest

@testable import WebhookConnector

/// The webhook source's idempotency index on its own: a key's first answer is every repeat's
/// answer inside the window, concurrent repeats wait for the first write, a failed write is
/// forgotten, memory stays bounded, and a restart rebuilds it from the written records.
final class DedupeIndexTests: XCTestCase {
  func testARepeatInsideTheWindowGetsTheFirstAnswerAndWritesNothing() async throws {
    let index = DedupeIndex(window: .milliseconds(1_000))
    let writes = Counter()
    let first = try await index.placement(for: "k", nowMs: 0) { await writes.add(); return placed(1) }
    let again = try await index.placement(for: "k", nowMs: 1_000) { await writes.add(); return placed(2) }
    XCTAssertEqual(first.0, placed(1))
    XCTAssertFalse(first.replayed)
    XCTAssertEqual(again.0, placed(1))
    XCTAssertTrue(again.replayed)
    let later = try await index.placement(for: "k", nowMs: 2_001) { await writes.add(); return placed(3) }
    XCTAssertEqual(later.0, placed(3), "past the window the key is new again")
    let count = await writes.value
    XCTAssertEqual(count, 2)
  }

  func testConcurrentRepeatsWaitForTheWriteInFlight() async throws {
    let index = DedupeIndex(window: .milliseconds(60_000))
    let writes = Counter()
    let results = try await withThrowingTaskGroup(of: (Placement, replayed: Bool).self) { group in
      for _ in 0..<8 {
        group.addTask {
          try await index.placement(for: "same", nowMs: 0) {
            await writes.add()
            try await Task.sleep(for: .milliseconds(50))
            return Placement(topic: "hooks", partition: 0, offset: 7)
          }
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    XCTAssertEqual(Set(results.map(\.0.offset)), [7])
    XCTAssertEqual(results.filter { !$0.replayed }.count, 1)
    let count = await writes.value
    XCTAssertEqual(count, 1)
  }

  func testAFailedWriteIsForgottenSoARetryWrites() async throws {
    struct Refused: Error {}
    let index = DedupeIndex(window: .milliseconds(60_000))
    do {
      _ = try await index.placement(for: "k", nowMs: 0) { throw Refused() }
      XCTFail("the write's error reaches the caller")
    } catch is Refused {}
    let retry = try await index.placement(for: "k", nowMs: 1) { placed(4) }
    XCTAssertEqual(retry.0, placed(4))
    XCTAssertFalse(retry.replayed)
  }

  func testTheOldestKeysGoFirstPastTheMemoryBound() async throws {
    let perKey = 1 + "hooks".utf8.count + DedupeIndex.entryOverhead
    let index = DedupeIndex(window: .milliseconds(60_000), maxBytes: perKey * 3)
    for (i, key) in ["a", "b", "c", "d", "e"].enumerated() {
      _ = try await index.placement(for: key, nowMs: Int64(i)) { placed(Int64(i)) }
    }
    let (count, evicted, bytes) = await (index.count, index.evicted, index.bytes)
    XCTAssertEqual(count, 3)
    XCTAssertEqual(evicted, 2)
    XCTAssertLessThanOrEqual(bytes, perKey * 3)
    let a = try await index.placement(for: "a", nowMs: 10) { placed(99) }
    XCTAssertFalse(a.replayed, "an evicted key is new again")
    let e = try await index.placement(for: "e", nowMs: 10) { placed(98) }
    XCTAssertTrue(e.replayed, "the newest key is still known")
  }

  func testExpireForgetsKeysOlderThanTheWindow() async throws {
    let index = DedupeIndex(window: .milliseconds(100))
    _ = try await index.placement(for: "old", nowMs: 0) { placed(1) }
    _ = try await index.placement(for: "new", nowMs: 150) { placed(2) }
    await index.expire(nowMs: 200)
    let count = await index.count
    XCTAssertEqual(count, 1)
  }

  func testRebuildsFromTheRecordsInsideTheWindow() async throws {
    let index = DedupeIndex(window: .milliseconds(1_000))
    func record(_ key: String?, offset: Int64, at ms: Int64) -> Record {
      Record(
        topic: "hooks", partition: 1, offset: offset, timestamp: ms, key: nil, value: [],
        headers: key.map { [RecordHeader(DedupeIndex.header, $0)] } ?? [])
    }
    await index.rebuild(
      from: [
        record("too-old", offset: 0, at: 0), record("k1", offset: 1, at: 5_000),
        record(nil, offset: 2, at: 5_100), record("k1", offset: 3, at: 5_200),
      ], nowMs: 5_500)
    let count = await index.count
    XCTAssertEqual(count, 1)
    let repeated = try await index.placement(for: "k1", nowMs: 5_600) { placed(50) }
    XCTAssertEqual(repeated.0, Placement(topic: "hooks", partition: 1, offset: 1), "the first write's place")
    XCTAssertTrue(repeated.replayed)
  }
}

/// Where a test's write put its record.
private func placed(_ offset: Int64) -> Placement {
  Placement(topic: "hooks", partition: 0, offset: offset)
}

/// Counts calls across tasks.
private actor Counter {
  private(set) var value = 0
  func add() { value += 1 }
}
