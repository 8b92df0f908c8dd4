import Foundation
import SluiceCore

/// The log as a Kafka broker uses it: batches appended and served as they came, timestamps
/// looked up, producer fields recovered, topics deleted.
extension EmbeddedLog {
  /// Appends a batch a Kafka producer sent, bytes unchanged but for its base offset; returns
  /// that offset once the batch is as durable as `fsync` promises.
  public func append(_ batch: ProducedBatch, topic: String, partition p: Int) async throws -> Int64
  {
    try checkOpen()
    let log = try partition(topic, p)
    guard let committer = committer.withLock({ $0 }) else { throw LogError.closed }
    return try await withCheckedThrowingContinuation { continuation in
      committer.submit(
        .init(
          partition: log, batch: batch.bytes, recordCount: batch.recordCount,
          continuation: continuation))
    }
  }

  /// Whole stored batches from the one holding `offset` on, up to about `maxBytes` (at least
  /// one whole batch); the first may start before `offset`, as in Kafka.
  public func readBatches(
    topic: String, partition p: Int, from offset: Int64, below limit: Int64 = .max, maxBytes: Int
  ) throws -> [UInt8] {
    try partition(topic, p).readBatches(from: offset, below: limit, maxBytes: maxBytes)
  }

  /// ``readBatches(topic:partition:from:maxBytes:)`` read straight into `out` (for a network
  /// buffer: one copy from the file to the socket's buffer); returns how many bytes were
  /// appended. Batches starting at or after `limit` (a last stable offset) are left out.
  public func readBatches<Buffer: BatchReadBuffer>(
    topic: String, partition p: Int, from offset: Int64, below limit: Int64 = .max, maxBytes: Int,
    into out: inout Buffer
  ) throws -> Int {
    try partition(topic, p).readBatches(from: offset, below: limit, maxBytes: maxBytes, into: &out)
  }

  /// The offset and timestamp of the first record at or after `timestamp`, or nil.
  public func firstRecord(topic: String, partition p: Int, atOrAfter timestamp: Int64) throws
    -> (offset: Int64, timestamp: Int64)?
  {
    try partition(topic, p).firstRecord(atOrAfter: timestamp)
  }

  /// The idempotent producers' batches in the last `window` bytes of a partition.
  public func recentProducerBatches(topic: String, partition p: Int, window: Int64) throws
    -> [StoredBatchInfo]
  {
    try partition(topic, p).recentBatches(window: window)
  }

  /// The transactional batches and markers holding offsets at or after `offset`, and the
  /// durable end they were read up to.
  public func transactionBatches(topic: String, partition p: Int, from offset: Int64) throws
    -> (batches: [StoredBatchInfo], end: Int64)
  {
    try partition(topic, p).transactionBatches(from: offset)
  }

  /// Deletes a topic and its files. Appends under way to it are lost with it; a topic of the
  /// same name can be created at once (the old folder is renamed away first).
  public func deleteTopic(_ name: String) throws {
    try checkOpen()
    let removed = partitions.withLock { all in all.removeValue(forKey: name) }
    guard removed != nil else { throw LogError.unknownTopic(name) }
    // '~' is not allowed in topic names: a folder left by a crash here is not loaded as a topic.
    let folder = "\(topicsDirectory)/\(name)"
    let aside = "\(topicsDirectory)/\(name)~deleted-\(currentTimeMillis())"
    guard rename(folder, aside) == 0 else {
      throw LogError.io(path: folder, operation: "rename", reason: FileIO.reason())
    }
    FileIO.syncDirectory(topicsDirectory)
    try? FileManager.default.removeItem(atPath: aside)
    TopicAppendCounters(topic: name).destroy()
  }

  /// Each topic's segment files and their bytes, summed over its partitions.
  func footprint() -> [String: (segments: Int, bytes: Int64)] {
    var topics: [String: (segments: Int, bytes: Int64)] = [:]
    for (topic, logs) in partitions.withLock({ $0 }) {
      topics[topic] = logs.reduce((0, 0)) { sum, log in
        let part = log.footprint
        return (sum.0 + part.segments, sum.1 + part.bytes)
      }
    }
    return topics
  }
}
