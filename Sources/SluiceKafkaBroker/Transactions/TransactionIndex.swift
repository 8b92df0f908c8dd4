import SluiceCore
import SluiceLog
import Synchronization

/// Every partition's ``PartitionTransactions``, each read from its log the first time it is
/// asked for after a start and then brought up to date with the batches appended since, at
/// each request that needs it (read_committed fetches, ListOffsets, markers). Only headers are
/// read: the first time, of the whole partition; after that, of the new batches.
final class TransactionIndex: Sendable {
  private let partitions = Mutex<[TopicPartition: PartitionTransactions]>([:])

  /// `partition`'s transactions up to its durable end (blocking: reads batch headers).
  func current(_ partition: TopicPartition, in store: EmbeddedTopicStore) throws
    -> PartitionTransactions
  {
    let from = partitions.withLock { $0[partition]?.end ?? 0 }
    let (batches, end) = try store.transactionBatches(in: partition, from: from)
    return partitions.withLock { all in
      var state = all[partition] ?? PartitionTransactions()
      state.apply(batches, through: end)
      all[partition] = state
      return state
    }
  }

  /// Forgets a deleted topic's partitions.
  func forget(topic: String) {
    partitions.withLock { all in all = all.filter { $0.key.topic != topic } }
  }
}
