import Foundation
import SluiceCore

/// Transactional ids' states kept in the data dir (`kafka-transactions/`, one file per
/// transactional id, replaced atomically and fsynced before the request that changed it is
/// answered), so that after a `kill -9` every transaction is found again: an ongoing one is
/// aborted and an ending one is ended (``TransactionState/recover()``). Kafka keeps the same
/// states in its `__transaction_state` topic.
final class TransactionStateStore: Sendable {
  private struct File: Codable {
    var transactionalID: String
    var producerID: Int64
    var epoch: Int16
    var timeoutMs: Int32
    var phase: TransactionState.Phase
    /// topic -> partitions
    var partitions: [String: [Int]]
    var groups: [String]
    /// group -> topic -> partition -> offset
    var pendingOffsets: [String: [String: [String: GroupOffsetStore.Committed]]]
    var startedMs: Int64
  }

  private let folder: URL
  private let io = BlockingQueue(label: "sluice.kafka.transactions")

  init(folder: String) throws {
    self.folder = URL(fileURLWithPath: folder)
    try FileManager.default.createDirectory(at: self.folder, withIntermediateDirectories: true)
  }

  /// Every stored state.
  func load() throws -> [TransactionState] {
    var out: [TransactionState] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path)
    where name.hasSuffix(".json") {
      guard let data = try DurableFile.contents(of: folder.appendingPathComponent(name)),
        let file = try? JSONDecoder().decode(File.self, from: data)
      else { continue }
      var partitions: Set<TopicPartition> = []
      for (topic, list) in file.partitions {
        for p in list { partitions.insert(TopicPartition(topic, p)) }
      }
      var pending: [String: [TopicPartition: GroupOffsetStore.Committed]] = [:]
      for (group, topics) in file.pendingOffsets {
        for (topic, byPartition) in topics {
          for (p, committed) in byPartition {
            if let p = Int(p) { pending[group, default: [:]][TopicPartition(topic, p)] = committed }
          }
        }
      }
      out.append(
        TransactionState(
          transactionalID: file.transactionalID, producerID: file.producerID, epoch: file.epoch,
          timeoutMs: file.timeoutMs, phase: file.phase, partitions: partitions,
          groups: Set(file.groups), pendingOffsets: pending, startedMs: file.startedMs))
    }
    return out
  }

  /// Stores `state` durably; returns once it is on disk.
  func save(_ state: TransactionState) async throws {
    var file = File(
      transactionalID: state.transactionalID, producerID: state.producerID, epoch: state.epoch,
      timeoutMs: state.timeoutMs, phase: state.phase, partitions: [:],
      groups: state.groups.sorted(), pendingOffsets: [:], startedMs: state.startedMs)
    for tp in state.partitions { file.partitions[tp.topic, default: []].append(tp.partition) }
    for (group, offsets) in state.pendingOffsets {
      for (tp, committed) in offsets {
        file.pendingOffsets[group, default: [:]][tp.topic, default: [:]]["\(tp.partition)"] =
          committed
      }
    }
    let data = try JSONEncoder().encode(file)
    // The same naming as the groups' files: any string, collisions told apart by the id inside.
    let url = folder.appendingPathComponent(GroupOffsetStore.fileName(state.transactionalID))
    try await io.run { try DurableFile.replace(url, with: data) }
  }
}
