import Logging
import SluiceCore
import Synchronization

/// Writes connector and task status changes (``StatusRecord``) to the store's status topic, as
/// Kafka Connect does, so the cluster shows what the worker runs. Changes are queued (the
/// ``StatusBoard`` hands them over under its lock) and written in order by one loop; of several
/// queued changes of one key only the newest is written, which is all a compacted topic keeps.
/// Status is best effort: a failed write is logged and the next change of that key rewrites it.
public final class StatusTopicWriter: Sendable {
  private let store: KafkaTopicStore
  private let logger: Logger
  private let queue = Mutex<(pending: [StatusRecord], writing: Bool, done: [CheckedContinuation<Void, Never>])>(([], false, []))

  public init(store: KafkaTopicStore, logger: Logger) {
    self.store = store
    self.logger = logger
  }

  /// Queues `records` and makes sure the loop runs.
  public func enqueue(_ records: [StatusRecord]) {
    let start = queue.withLock { state -> Bool in
      state.pending += records
      if state.writing { return false }
      state.writing = true
      return true
    }
    if start { Task { await self.writeQueued() } }
  }

  /// Returns once everything queued so far is written (or has failed).
  public func flush() async {
    await withCheckedContinuation { continuation in
      let idle = queue.withLock { state -> Bool in
        if !state.writing { return true }
        state.done.append(continuation)
        return false
      }
      if idle { continuation.resume() }
    }
  }

  private func writeQueued() async {
    while true {
      let batch = queue.withLock { state -> [StatusRecord]? in
        if state.pending.isEmpty {
          state.writing = false
          for waiter in state.done { waiter.resume() }
          state.done = []
          return nil
        }
        defer { state.pending = [] }
        return state.pending
      }
      guard let batch else { return }
      await write(Self.newestPerKey(batch))
    }
  }

  private func write(_ records: [StatusRecord]) async {
    let topic = store.configuration.statusTopic
    do {
      let count = try await store.partitionCount(of: topic) ?? 1
      var byPartition: [Int: [OutgoingRecord]] = [:]
      for record in records {
        let key = Array(record.key.utf8)
        byPartition[Partitioner.partition(forKey: key, partitions: count), default: []].append(
          OutgoingRecord(key: key, value: record.value))
      }
      _ = try await store.append(byPartition.map { (TopicPartition(topic, $0.key), $0.value) })
    } catch {
      logger.warning(
        "cannot write status to the status topic; the next change retries",
        metadata: ["topic": "\(topic)", "error": "\(error)"])
    }
  }

  /// The newest record of each key, in the order of those newest records.
  static func newestPerKey(_ records: [StatusRecord]) -> [StatusRecord] {
    var last: [String: Int] = [:]
    for (index, record) in records.enumerated() { last[record.key] = index }
    return records.enumerated().filter { last[$0.element.key] == $0.offset }.map(\.element)
  }
}
