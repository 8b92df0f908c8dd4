import Foundation
import SluiceCore
import XCTest

@testable import SluiceKafkaBroker

/// Transactional ids' states survive a restart as they were stored: phase, partitions, groups
/// and the offsets pending in a committing transaction.
final class TransactionStateStoreTests: XCTestCase {
  func testAStoredStateIsLoadedBackWholeAndReplacedByTheNext() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-txn-\(UUID().uuidString)"
    ).path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let files = try TransactionStateStore(folder: folder)
    let a = TopicPartition("orders", 0)
    let b = TopicPartition("audit", 3)
    let offset = GroupOffsetStore.Committed(
      offset: 42, metadata: "m", leaderEpoch: -1, commitTimestamp: 7)
    var state = TransactionState(transactionalID: "tx/é", producerID: 9, timeoutMs: 5000)
    _ = state.initProducer(
      timeoutMs: 5000, requestedProducerID: -1, requestedEpoch: -1, spareProducerID: 10)
    _ = state.addPartitions([a, b], producerID: 9, epoch: 0, nowMs: 123)
    _ = state.addOffsets(group: "g", producerID: 9, epoch: 0, nowMs: 123)
    _ = state.commitOffsets([a: offset], group: "g", producerID: 9, epoch: 0)
    _ = state.end(commit: true, producerID: 9, epoch: 0)
    try await files.save(state)
    XCTAssertEqual(try TransactionStateStore(folder: folder).load(), [state])

    _ = state.markersWritten()
    try await files.save(state)
    let loaded = try TransactionStateStore(folder: folder).load()
    XCTAssertEqual(loaded, [state])
    XCTAssertEqual(loaded.first?.phase, .completeCommit)
  }
}
