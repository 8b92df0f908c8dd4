/// Start and end of a partition: `start` is the first offset still kept, `end` the offset the
/// next record will get (so `end - start` records are readable).
public struct PartitionOffsets: Sendable, Hashable, Codable {
  public var start: Int64
  public var end: Int64

  public init(start: Int64, end: Int64) {
    self.start = start
    self.end = end
  }
}

/// A topic and the offsets of each of its partitions, as `GET /topics` shows them.
public struct TopicDescription: Sendable, Hashable {
  public var name: String
  public var partitions: [PartitionOffsets]

  public init(name: String, partitions: [PartitionOffsets]) {
    self.name = name
    self.partitions = partitions
  }
}

/// Why a store operation failed, in the terms a caller can act on.
public enum TopicStoreError: Error, CustomStringConvertible, Sendable {
  case invalidTopicName(String, reason: String)
  case unknownTopic(String)
  case unknownPartition(String, Int, partitions: Int)
  case recordTooLarge(size: Int, limit: Int)
  /// A record the store cannot hold as given (a timestamp outside ``RecordTimestamp/valid``);
  /// nothing of the append was written.
  case invalidRecord(String)
  /// The topic does not exist and may not be created (`max_topics`, `allowed_topics`).
  case topicNotAllowed(String)
  case offsetOutOfRange(TopicPartition, requested: Int64, start: Int64, end: Int64)
  /// The store cannot write at the moment (disk full, read-only, closed); nothing was written.
  case unavailable(String)
  /// Stored data failed its checksum; the message names file and position.
  case corrupt(String)

  public var description: String {
    switch self {
    case .invalidTopicName(let name, let reason): "invalid topic name '\(name)': \(reason)"
    case .unknownTopic(let name): "unknown topic '\(name)'"
    case .unknownPartition(let topic, let partition, let count):
      "topic '\(topic)' has no partition \(partition) (it has \(count))"
    case .recordTooLarge(let size, let limit):
      "record of \(size) bytes is larger than the limit of \(limit) bytes (log.max_record_bytes)"
    case .invalidRecord(let reason): "invalid record: \(reason)"
    case .topicNotAllowed(let reason): reason
    case .offsetOutOfRange(let tp, let requested, let start, let end):
      "offset \(requested) is out of range for \(tp): readable offsets are \(start)..<\(end)"
    case .unavailable(let reason): "the topic store cannot write: \(reason)"
    case .corrupt(let reason): "stored data is corrupt: \(reason)"
    }
  }
}

/// The one way the runtime writes and reads topics (DESIGN.md §2).
///
/// The embedded log (`SluiceLog`) is the first implementation; a Kafka-backed one can follow, so
/// nothing here says how records lie on disk. Readers are consumer-shaped
/// (``makeConsumer(group:member:)``), as a Kafka cluster's are. Every method is safe to call
/// concurrently.
public protocol TopicStore: Sendable {
  /// Partition count used when a topic is created implicitly by a write.
  var defaultPartitions: Int { get }

  /// The store's kind, brokers and cluster id, for status.
  func describeStore() async -> StoreDescription

  /// Creates the topic if it does not exist; an existing topic keeps its partition count.
  func createTopic(_ name: String, partitions: Int) async throws

  /// The number of partitions of `topic`, or nil if it does not exist.
  func partitionCount(of topic: String) async throws -> Int?

  /// Every topic with the offsets of its partitions, sorted by name.
  func describeTopics() async throws -> [TopicDescription]

  func offsets(of partition: TopicPartition) async throws -> PartitionOffsets

  /// The offset of the first record of `partition` whose timestamp is at or after `timestamp`
  /// (milliseconds since the epoch), or nil when every record kept is older: Kafka's
  /// ListOffsets by timestamp, answered from the log's time index. What a replay by time
  /// (`sluice replay --to-time`) moves a sink back to.
  func firstOffset(in partition: TopicPartition, atOrAfter timestamp: Int64) async throws
    -> Int64?

  /// Appends records to one partition as one batch and returns the offset of the first one.
  /// Returns only when the batch is as durable as the store's fsync policy promises.
  func append(_ records: [OutgoingRecord], to partition: TopicPartition) async throws -> Int64
  /// Appends records a source encoded itself as one batch, as ``append(_:to:)`` does. A store
  /// that writes Kafka's batches as they are (the embedded log) frames the bytes; the default
  /// decodes them and appends the records.
  func append(encoded records: EncodedRecords, to partition: TopicPartition) async throws
    -> Int64
  /// An empty buffer to encode records into (``EncodedRecords/init(reusing:capacity:)``): one
  /// a written batch left, whose pages are mapped already, where the store keeps them (the
  /// embedded log); else a new one.
  func recycledBuffer() -> [UInt8]
  /// The codec a source compresses its encoded records with on its own threads
  /// (``EncodedRecords/init(reusing:capacity:compressor:)``) when the store compresses what it
  /// writes and the codec can be written a piece at a time; nil (the default) when the store
  /// compresses them itself or not at all.
  var recordsCompressor: (any RecordsCompressor)? { get }

  /// Records from `offset` on, at most `maxRecords` (and roughly `maxBytes`, but at least one).
  /// An offset at or past the end gives an empty array; one below the start throws
  /// ``TopicStoreError/offsetOutOfRange(_:requested:start:end:)``.
  func read(from partition: TopicPartition, offset: Int64, maxRecords: Int, maxBytes: Int)
    async throws
    -> [Record]

  /// The largest record (key plus value) an append accepts: writers split or refuse by it
  /// rather than learn it from a failed append.
  var maxRecordBytes: Int { get }

  /// A consumer of this store: in `group` (a sink connector's name) when it will subscribe, or
  /// nil for one that is assigned partitions by hand. `member` names it within the group.
  func makeConsumer(group: String?, member: String) async throws -> any TopicConsumer

  /// How source task `task` of `connector` writes its records and commits its position; a
  /// store without transactions uses ``DurableAppendSession`` with the worker's `offsets`.
  func makeSourceSession(connector: String, task: Int, offsets: any OffsetStore) async throws
    -> any SourceSession

  /// A source connector's committed position, read without writing anything (no session, no
  /// producer that would fence a running task): the admin API's `GET …/offsets`. A store
  /// without transactions reads the worker's `offsets`.
  func committedSourcePosition(connector: String, offsets: any OffsetStore) async throws
    -> SourcePosition?
}

extension TopicStore {
  public func committedSourcePosition(connector: String, offsets: any OffsetStore) async throws
    -> SourcePosition?
  {
    try await offsets.sourcePosition(connector: connector)
  }
}

extension TopicStore {
  /// The records of `tp` in `from..<end` (those a read gives: on Kafka, committed ones).
  public func records(of tp: TopicPartition, from: Int64, below end: Int64) async throws
    -> [Record]
  {
    var out: [Record] = []
    var next = from
    while next < end {
      let records = try await read(
        from: tp, offset: next, maxRecords: Int(end - next), maxBytes: 16 << 20)
      guard let last = records.last else { break }
      out += records.prefix { $0.offset < end }
      next = last.offset + 1
    }
    return out
  }

  /// Appends each partition's records as one batch, all partitions at once, and returns each
  /// batch's base offset in the order given. If one partition fails, others may have been
  /// written (as with Kafka).
  public func append(_ batches: [(TopicPartition, [OutgoingRecord])]) async throws -> [Int64] {
    try await appendAll(batches) { records, tp in try await self.append(records, to: tp) }
  }

  /// Appends each partition's encoded records as one batch, all partitions at once, as
  /// ``append(_:)-([(TopicPartition,[OutgoingRecord])])`` does.
  public func append(encoded batches: [(TopicPartition, EncodedRecords)]) async throws
    -> [Int64]
  {
    try await appendAll(batches) { records, tp in try await self.append(encoded: records, to: tp) }
  }

  public func append(encoded records: EncodedRecords, to partition: TopicPartition)
    async throws -> Int64
  {
    try await append(records.decoded(), to: partition)
  }

  public func recycledBuffer() -> [UInt8] { [] }

  public var recordsCompressor: (any RecordsCompressor)? { nil }

  private func appendAll<Records: Sendable>(
    _ batches: [(TopicPartition, Records)],
    _ append: @escaping @Sendable (Records, TopicPartition) async throws -> Int64
  ) async throws -> [Int64] {
    var bases = [Int64](repeating: 0, count: batches.count)
    // One partition (a source's usual send) is appended where it is, not in a child task.
    if batches.count == 1 {
      bases[0] = try await append(batches[0].1, batches[0].0)
      return bases
    }
    try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
      for (i, (tp, records)) in batches.enumerated() {
        group.addTask { (i, try await append(records, tp)) }
      }
      for try await (i, base) in group { bases[i] = base }
    }
    return bases
  }

  /// Creates the topic with ``defaultPartitions`` if needed and returns its partition count.
  public func ensureTopic(_ name: String) async throws -> Int {
    if let count = try await partitionCount(of: name) { return count }
    try await createTopic(name, partitions: defaultPartitions)
    return try await partitionCount(of: name) ?? defaultPartitions
  }
}
