import Foundation
import SluiceCore
import Synchronization

/// Sluice's own topic log, laid out like Kafka's: `<dir>/topics/<topic>/<partition>/` holding
/// segments of RecordBatch v2 with sparse indexes (DESIGN.md §2).
///
/// One writer per data dir (a lock file); appends are group-committed per partition by the
/// log's writer threads (``GroupCommitter``), partitions side by side; reads run on the
/// caller's thread and see only durable records. Start-up recovers a torn tail
/// of each active segment and refuses, naming file and byte, when it finds real corruption.
public final class EmbeddedLog: Sendable {
  public let directory: String
  public let configuration: LogConfiguration
  private let lock: LockFile
  let partitions = Mutex<[String: [PartitionLog]]>([:])
  let committer = Mutex<GroupCommitter?>(nil)
  private let isClosed = Atomic<Bool>(false)
  private let buffers = BatchBufferPool()
  let files: DescriptorPool

  var topicsDirectory: String { directory + "/topics" }
  private var cleanMarker: String { directory + "/.clean-shutdown" }

  public init(directory: String, configuration: LogConfiguration = .init()) throws {
    self.directory = directory
    self.configuration = configuration
    files = DescriptorPool(
      limit: configuration.maxOpenFiles, keepsUnsyncedFilesOpen: configuration.fsync != .none)
    try FileIO.makeDirectory(directory + "/topics")
    lock = try LockFile(directory: directory)
    let clean = FileManager.default.fileExists(atPath: directory + "/.clean-shutdown")
    // From here on a crash is not a clean shutdown.
    unlink(directory + "/.clean-shutdown")
    FileIO.syncDirectory(directory)

    var loaded: [String: [PartitionLog]] = [:]
    let topics = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/topics")) ?? []
    // A topic deletion cut short by a crash left its folder renamed aside.
    for leftover in topics where leftover.contains("~deleted-") {
      try? FileManager.default.removeItem(atPath: directory + "/topics/" + leftover)
    }
    for topic in topics where TopicName.problem(with: topic) == nil {
      let topicDir = directory + "/topics/" + topic
      let count =
        ((try? FileManager.default.contentsOfDirectory(atPath: topicDir)) ?? []).compactMap(
          Int.init
        ).max().map { $0 + 1 } ?? 0
      var logs: [PartitionLog] = []
      for p in 0..<count {
        logs.append(
          try PartitionLog(
            directory: "\(topicDir)/\(p)", topic: topic, partition: p, configuration: configuration,
            files: files, cleanShutdown: clean,
            warn: { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }))
      }
      if !logs.isEmpty { loaded[topic] = logs }
    }
    partitions.withLock { $0 = loaded }
    let buffers = self.buffers
    let committer = GroupCommitter(
      policy: configuration.fsync, tick: configuration.retentionCheckInterval,
      writerThreads: configuration.writerThreads, buffers: buffers,
      onTick: { [weak self] now in
        buffers.trimIfIdle()
        _ = try? self?.enforceRetention(nowMs: now)
      })
    self.committer.withLock { $0 = committer }
  }

  // MARK: - Topics

  public func createTopic(_ name: String, partitions count: Int) throws {
    if let problem = TopicName.problem(with: name) {
      throw LogError.invalidTopicName(name, reason: problem)
    }
    guard count >= 1 else {
      throw LogError.invalidTopicName(name, reason: "a topic needs at least one partition")
    }
    try checkOpen()
    try partitions.withLock { all in
      if all[name] != nil { return }
      guard all.count < configuration.maxTopics else {
        throw LogError.topicLimitReached(name, limit: configuration.maxTopics)
      }
      var logs: [PartitionLog] = []
      for p in 0..<count {
        logs.append(
          try PartitionLog(
            directory: "\(topicsDirectory)/\(name)/\(p)", topic: name, partition: p,
            configuration: configuration, files: files,
            cleanShutdown: true, warn: { _ in }))
      }
      FileIO.syncDirectory("\(topicsDirectory)/\(name)")
      FileIO.syncDirectory(topicsDirectory)
      all[name] = logs
    }
  }

  public func topicNames() -> [String] { partitions.withLock { $0.keys.sorted() } }

  public func partitionCount(of topic: String) -> Int? { partitions.withLock { $0[topic]?.count } }

  func partition(_ topic: String, _ partition: Int) throws -> PartitionLog {
    try partitions.withLock { all in
      guard let logs = all[topic] else { throw LogError.unknownTopic(topic) }
      guard partition >= 0 && partition < logs.count else {
        throw LogError.unknownPartition(topic, partition, partitions: logs.count)
      }
      return logs[partition]
    }
  }

  public func offsets(topic: String, partition p: Int) throws -> PartitionOffsets {
    try partition(topic, p).offsets
  }

  // MARK: - Appending and reading

  /// Appends records as one batch; returns the first record's offset once durable per policy.
  public func append(_ records: [LogRecord], topic: String, partition p: Int) async throws -> Int64
  {
    guard !records.isEmpty else { return try offsets(topic: topic, partition: p).end }
    for record in records {
      if record.payloadSize > configuration.maxRecordBytes {
        throw LogError.recordTooLarge(size: record.payloadSize, limit: configuration.maxRecordBytes)
      }
      // Within this range every timestamp delta of the batch fits in an Int64.
      if !RecordTimestamp.valid.contains(record.timestamp) {
        throw LogError.timestampOutOfRange(record.timestamp)
      }
    }
    try checkOpen()
    let log = try partition(topic, p)
    guard let committer = committer.withLock({ $0 }) else { throw LogError.closed }
    return try await enqueue(recordCount: records.count, to: log, committer) {
      RecordBatch.encoded(records, reusing: buffers.take())
    }
  }

  /// Queues the records `encode` returns as one batch of `log` and returns its first offset
  /// once durable. They are encoded and framed (compressed with `compression` set, into a
  /// spare buffer while theirs goes back to `buffers`) inside the queuing, so that the queued
  /// append holds the only reference to the batch, which the writer thread hands to `buffers`
  /// once it is written.
  private func enqueue(
    recordCount: Int, to log: PartitionLog, _ committer: GroupCommitter,
    _ encode: () -> EncodedRecords
  ) async throws -> Int64 {
    try await withCheckedThrowingContinuation { continuation in
      do {
        let encoded = encode()
        let batch: [UInt8]
        let codec = configuration.compression
        // Records a source compressed itself are framed as they are.
        if codec == .none || encoded.isCompressed {
          batch = RecordBatch.frame(encoded)
        } else {
          let spent: [UInt8]
          (batch, spent) = try RecordBatch.frame(
            encoded, compressedWith: codec, into: buffers.take())
          buffers.give(spent)
        }
        committer.submit(
          .init(
            partition: log, batch: batch, recordCount: recordCount, continuation: continuation))
      } catch {
        continuation.resume(throwing: error)
      }
    }
  }

  /// An empty buffer with the capacity of a batch written before, if one is kept
  /// (``BatchBufferPool``): what a source encodes its next records into.
  public func recycledBuffer() -> [UInt8] { buffers.take() }

  /// LZ4's compressor when the log compresses with LZ4, the one codec whose stream a source
  /// can write a piece at a time (``LZ4RecordsCompressor``); the others compress whole
  /// batches here.
  public var recordsCompressor: (any RecordsCompressor)? {
    configuration.compression == .lz4 ? LZ4RecordsCompressor() : nil
  }

  /// Appends records a source encoded itself as one batch (their header is written into the
  /// room they left for it) and returns the first one's offset, as ``append(_:topic:partition:)``.
  public func append(encoded records: EncodedRecords, topic: String, partition p: Int)
    async throws -> Int64
  {
    guard !records.isEmpty else { return try offsets(topic: topic, partition: p).end }
    if records.largestPayload > configuration.maxRecordBytes {
      throw LogError.recordTooLarge(
        size: records.largestPayload, limit: configuration.maxRecordBytes)
    }
    for timestamp in [records.minTimestamp, records.maxTimestamp]
    where !RecordTimestamp.valid.contains(timestamp) {
      throw LogError.timestampOutOfRange(timestamp)
    }
    try checkOpen()
    let log = try partition(topic, p)
    guard let committer = committer.withLock({ $0 }) else { throw LogError.closed }
    return try await enqueue(recordCount: records.count, to: log, committer) { records }
  }

  /// Records from `offset`; with `committedOnly` (read_committed), only those below the
  /// partition's last stable offset and none of an aborted transaction.
  public func read(
    topic: String, partition p: Int, from offset: Int64, maxRecords: Int, maxBytes: Int = 4 << 20,
    committedOnly: Bool = false
  ) throws
    -> [StoredLogRecord]
  {
    try partition(topic, p).read(
      from: offset, maxRecords: maxRecords, maxBytes: maxBytes, committedOnly: committedOnly)
  }

  /// A partition's open and aborted transactions, up to its durable end.
  public func transactions(topic: String, partition p: Int) throws -> PartitionTransactions {
    try partition(topic, p).transactions()
  }

  /// Segment and index files open at the moment (bounded by the descriptor pool).
  public var openFileCount: Int { files.openCount }

  /// fdatasync calls made for appends so far (tests prove group commit with it).
  public var fsyncCount: Int { committer.withLock { $0?.fsyncCount ?? 0 } }

  // MARK: - Retention and shutdown

  @discardableResult
  public func enforceRetention(nowMs: Int64) throws -> Int {
    let all = partitions.withLock { $0.values.flatMap { $0 } }
    var removed = 0
    for p in all { removed += try p.enforceRetention(nowMs: nowMs) }
    return removed
  }

  /// Finishes queued appends, syncs every partition, marks the shutdown clean and releases
  /// the lock. Later calls throw ``LogError/closed``.
  public func close() {
    guard !isClosed.exchange(true, ordering: .sequentiallyConsistent) else { return }
    committer.withLock { $0 }?.stop()
    var synced = true
    for p in partitions.withLock({ $0.values.flatMap { $0 } }) {
      do { try p.syncAll() } catch { synced = false }
    }
    if synced {
      FileManager.default.createFile(atPath: cleanMarker, contents: nil)
      FileIO.syncDirectory(directory)
    }
    lock.release()
  }

  func checkOpen() throws {
    if isClosed.load(ordering: .sequentiallyConsistent) { throw LogError.closed }
  }
}
