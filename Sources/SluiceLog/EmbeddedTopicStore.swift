import SluiceCore
import Synchronization

/// The embedded log as the runtime's ``TopicStore``: translates records and errors, and wakes
/// caught-up readers after each append. The only file outside the log's internals that knows
/// ``EmbeddedLog`` exists.
public final class EmbeddedTopicStore: TopicStore {
  public let log: EmbeddedLog
  public let defaultPartitions: Int
  /// Where consumer groups keep their committed offsets (sink connectors' offsets).
  public let groupOffsets: any OffsetStore
  let signal = AppendSignal()
  /// The embedded store's consumer groups: who reads which partition.
  let groups = Mutex<[String: PartitionAssignment]>([:])
  /// Creating a topic makes directories and fsyncs them: not on the cooperative pool.
  let creation = BlockingQueue(label: "sluice.log.topic-creation")
  /// Segment counts and sizes per topic, read before each scrape of `/metrics`.
  private let footprint = LogFootprintGauges()
  private let footprintHook: ScrapeHook

  public init(log: EmbeddedLog, defaultPartitions: Int, groupOffsets: any OffsetStore) {
    self.log = log
    self.defaultPartitions = defaultPartitions
    self.groupOffsets = groupOffsets
    footprintHook = WorkerMetrics.shared.onScrape { [footprint] in footprint.update(from: log) }
  }

  deinit {
    footprintHook.cancel()
    footprint.removeAll()
  }

  public var maxRecordBytes: Int { log.configuration.maxRecordBytes }

  public func describeStore() async -> StoreDescription { StoreDescription(kind: "embedded") }

  public func makeConsumer(group: String?, member: String) async throws -> any TopicConsumer {
    EmbeddedConsumer(store: self, group: group, member: member)
  }

  public func createTopic(_ name: String, partitions: Int) async throws {
    let log = self.log
    try await translatingLogErrors {
      try await creation.run { try log.createTopic(name, partitions: partitions) }
    }
  }

  public func partitionCount(of topic: String) async throws -> Int? {
    log.partitionCount(of: topic)
  }

  public func describeTopics() async throws -> [TopicDescription] {
    try log.topicNames().map { name in
      let count = log.partitionCount(of: name) ?? 0
      let partitions = try (0..<count).map { p in
        try translatingLogErrors { try log.offsets(topic: name, partition: p) }
      }
      return TopicDescription(name: name, partitions: partitions)
    }
  }

  public func offsets(of partition: TopicPartition) async throws -> PartitionOffsets {
    try translatingLogErrors {
      try log.offsets(topic: partition.topic, partition: partition.partition)
    }
  }

  public func append(_ records: [OutgoingRecord], to partition: TopicPartition) async throws
    -> Int64
  {
    let base = try await translatingLogErrors {
      try await log.append(records, topic: partition.topic, partition: partition.partition)
    }
    wakeReaders()
    return base
  }

  public func recycledBuffer() -> [UInt8] { log.recycledBuffer() }

  public var recordsCompressor: (any RecordsCompressor)? { log.recordsCompressor }

  public func append(encoded records: EncodedRecords, to partition: TopicPartition)
    async throws -> Int64
  {
    let base = try await translatingLogErrors {
      try await log.append(
        encoded: records, topic: partition.topic, partition: partition.partition)
    }
    wakeReaders()
    return base
  }

  /// Tells readers waiting in ``waitForAppends(after:timeout:)`` that a partition grew.
  func wakeReaders() { signal.signal() }

  public func read(from partition: TopicPartition, offset: Int64, maxRecords: Int, maxBytes: Int)
    async throws
    -> [Record]
  {
    let stored = try translatingLogErrors {
      // read_committed (DESIGN.md §8): nothing of a transaction still open or aborted.
      try log.read(
        topic: partition.topic, partition: partition.partition, from: offset,
        maxRecords: maxRecords, maxBytes: maxBytes, committedOnly: true)
    }
    return stored.map { r in
      Record(
        topic: partition.topic, partition: partition.partition, offset: r.offset,
        timestamp: r.timestamp,
        key: r.key, value: r.value,
        headers: r.headers.map { RecordHeader(name: $0.name, value: $0.value) })
    }
  }

  /// Waits until any partition has been appended to since `version` (or `timeout` passes) and
  /// returns the current append version: how the Kafka listener's fetches long-poll.
  public func waitForAppends(after version: UInt64, timeout: Duration) async -> UInt64 {
    await signal.wait(after: version, timeout: timeout)
  }

  /// The current append version, see ``waitForAppends(after:timeout:)``.
  public var appendVersion: UInt64 { signal.version }

  // MARK: - Errors

  /// Runs `body`, turning a ``LogError`` into the ``TopicStoreError`` callers act on.
  func translatingLogErrors<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as LogError {
      throw Self.translate(error)
    }
  }

  func translatingLogErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let error as LogError {
      throw Self.translate(error)
    }
  }

  static func translate(_ error: LogError) -> any Error {
    switch error {
    case .invalidTopicName(let name, let reason):
      TopicStoreError.invalidTopicName(name, reason: reason)
    case .unknownTopic(let name): TopicStoreError.unknownTopic(name)
    case .unknownPartition(let topic, let partition, let count):
      TopicStoreError.unknownPartition(topic, partition, partitions: count)
    case .recordTooLarge(let size, let limit):
      TopicStoreError.recordTooLarge(size: size, limit: limit)
    case .timestampOutOfRange: TopicStoreError.invalidRecord(error.description)
    case .topicLimitReached: TopicStoreError.topicNotAllowed(error.description)
    case .offsetOutOfRange(let topic, let partition, let requested, let start, let end):
      TopicStoreError.offsetOutOfRange(
        TopicPartition(topic, partition), requested: requested, start: start, end: end)
    case .corruptSegment: TopicStoreError.corrupt(error.description)
    case .notWritable, .closed, .io: TopicStoreError.unavailable(error.description)
    default: error
    }
  }
}
