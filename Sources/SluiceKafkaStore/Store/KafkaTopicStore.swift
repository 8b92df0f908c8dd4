import Logging
import SluiceCompression
import SluiceCore
import SluiceKafka
import Synchronization

/// The runtime's ``TopicStore`` on a Kafka cluster (DESIGN.md §8), through Sluice's own client:
/// topics are created with CreateTopics, appends go through one idempotent producer (acks all),
/// reads are read_committed fetches, and each consumer is a ``KafkaConsumer``.
///
/// Nothing is dialed until it is used; ``start()`` creates the store's own compacted topics and
/// learns the broker's record size limit.
public final class KafkaTopicStore: TopicStore {
  /// How the store reaches the cluster and creates topics.
  public struct Configuration: Sendable {
    /// The cluster and how to talk to it.
    public var client: KafkaClientConfiguration
    /// Replicas of each topic the store creates (-1: the broker's default).
    public var replicationFactor: Int16
    /// Partitions of a topic created by a write.
    public var defaultPartitions: Int
    /// The compacted topic of source positions.
    public var offsetsTopic: String
    /// The compacted topic of connector and task status.
    public var statusTopic: String
    /// The topic of source connectors' history (``SourceHistoryTopic``).
    public var historyTopic: String
    /// How long a source task's transaction waits after the previous one committed.
    public var linger: Duration
    /// The record limit used when the broker does not say its `message.max.bytes`.
    public var maxRecordBytes: Int
    /// The codec of the batches the store produces (the producer's `compression.type`).
    public var compression: RecordBatchCompression

    /// A configuration for `client`, with Kafka Connect's topic names and Kafka's default
    /// record limit (1 MiB).
    public init(
      client: KafkaClientConfiguration, replicationFactor: Int16 = -1, defaultPartitions: Int = 1,
      offsetsTopic: String = "sluice-offsets", statusTopic: String = "sluice-status",
      historyTopic: String = "sluice-history", linger: Duration = .milliseconds(5),
      maxRecordBytes: Int = 1 << 20, compression: RecordBatchCompression = .none
    ) {
      self.client = client
      self.replicationFactor = replicationFactor
      self.defaultPartitions = defaultPartitions
      self.offsetsTopic = offsetsTopic
      self.statusTopic = statusTopic
      self.historyTopic = historyTopic
      self.linger = linger
      self.maxRecordBytes = maxRecordBytes
      self.compression = compression
    }
  }

  /// Room left in a batch of `message.max.bytes` for the batch header and one record's framing.
  static let batchOverhead = 512

  /// How the store was configured.
  public let configuration: Configuration
  /// The client for metadata, admin requests, appends and hand-assigned reads.
  public let client: KafkaClient
  let logger: Logger
  private let writer: PartitionWriter
  private let learnedMaxRecordBytes: Mutex<Int?> = Mutex(nil)

  /// A store on the cluster `configuration` describes.
  public init(configuration: Configuration, logger: Logger = Logger(label: "sluice.kafka.store")) {
    self.configuration = configuration
    self.logger = logger
    client = KafkaClient(configuration: configuration.client, logger: logger)
    writer = PartitionWriter(
      producer: KafkaProducer(client: client, compression: configuration.compression))
  }

  /// Creates the offsets and status topics (compacted) and the history topic if they do not
  /// exist, and learns the broker's `message.max.bytes`. Throws what the cluster answered when
  /// it cannot be reached.
  public func start() async throws {
    let compacted = ["cleanup.policy": "compact"]
    do {
      try await client.createTopics([
        NewTopic(
          name: configuration.offsetsTopic, partitions: 25,
          replicationFactor: configuration.replicationFactor, configs: compacted),
        NewTopic(
          name: configuration.statusTopic, partitions: 5,
          replicationFactor: configuration.replicationFactor, configs: compacted),
        NewTopic(
          name: configuration.historyTopic, partitions: 25,
          replicationFactor: configuration.replicationFactor,
          configs: [
            "cleanup.policy": "delete", "retention.ms": "\(SourceHistoryTopic.retentionMs)",
          ]),
      ])
    } catch {
      throw Self.translate(error)
    }
    if let limit = await brokerMessageMaxBytes() {
      learnedMaxRecordBytes.withLock { $0 = max(1024, limit - Self.batchOverhead) }
    }
  }

  /// Closes the producer and every connection of the store's client.
  public func close() async {
    await writer.close()
    await client.close()
  }

  // MARK: - TopicStore

  public var defaultPartitions: Int { configuration.defaultPartitions }

  /// The brokers of the last metadata the client has (refreshing stale metadata); the bootstrap
  /// list when no broker answers, so status still says where the worker is trying to go.
  public func describeStore() async -> StoreDescription {
    guard let metadata = try? await client.metadata() else {
      return StoreDescription(
        kind: "kafka", brokers: configuration.client.bootstrap.map(\.description))
    }
    return StoreDescription(
      kind: "kafka", brokers: metadata.brokers.keys.sorted().compactMap { metadata.brokers[$0]?.description },
      clusterID: metadata.clusterId)
  }

  /// From the broker's `message.max.bytes` (less a batch's framing) once ``start()`` learned
  /// it, else the configured limit.
  public var maxRecordBytes: Int {
    learnedMaxRecordBytes.withLock { $0 } ?? configuration.maxRecordBytes
  }

  /// The topics the store keeps for itself (not shown by ``describeTopics()``).
  public var internalTopics: Set<String> {
    [configuration.offsetsTopic, configuration.statusTopic, configuration.historyTopic]
  }

  public func createTopic(_ name: String, partitions: Int) async throws {
    do {
      try await client.createTopics([
        NewTopic(
          name: name, partitions: Int32(clamping: partitions),
          replicationFactor: configuration.replicationFactor)
      ])
    } catch {
      throw Self.translate(error, topic: name)
    }
  }

  public func partitionCount(of topic: String) async throws -> Int? {
    do {
      if let count = try await client.metadata(topics: [topic]).partitionCount(of: topic) {
        return count
      }
      // Another worker (or a Kafka tool) may have made it since the metadata was fetched.
      return try await client.metadata(topics: [topic], refresh: true).partitionCount(of: topic)
    } catch {
      throw Self.translate(error, topic: topic)
    }
  }

  public func describeTopics() async throws -> [TopicDescription] {
    do {
      let response = try await client.withRetries("Metadata of every topic") {
        try await self.client.anyConnection().send(
          MetadataRequest(topics: nil, allowAutoTopicCreation: false))
      }
      let hidden = internalTopics
      var counts: [String: Int] = [:]
      for topic in response.topics where topic.errorCode == 0 && !topic.isInternal {
        guard let name = topic.name, !name.hasPrefix("__"), !hidden.contains(name) else {
          continue
        }
        counts[name] = topic.partitions.count
      }
      let partitions = counts.flatMap { name, count in
        (0..<count).map { KafkaTopicPartition(name, Int32($0)) }
      }
      let ends = try await endsOf(partitions)
      return counts.keys.sorted().map { name in
        TopicDescription(
          name: name,
          partitions: (0..<counts[name]!).map { index in
            ends[KafkaTopicPartition(name, Int32(index))] ?? PartitionOffsets(start: 0, end: 0)
          })
      }
    } catch {
      throw Self.translate(error)
    }
  }

  public func offsets(of partition: TopicPartition) async throws -> PartitionOffsets {
    try await checkExists(partition)
    do {
      let tp = KafkaTopicPartition(partition)
      return try await endsOf([tp])[tp] ?? PartitionOffsets(start: 0, end: 0)
    } catch {
      throw Self.translate(error, topic: partition.topic)
    }
  }

  public func append(_ records: [OutgoingRecord], to partition: TopicPartition) async throws
    -> Int64
  {
    let limit = maxRecordBytes
    for record in records {
      let size = (record.key?.count ?? 0) + (record.value?.count ?? 0)
      if size > limit { throw TopicStoreError.recordTooLarge(size: size, limit: limit) }
    }
    guard !records.isEmpty else { return try await offsets(of: partition).end }
    try await checkExists(partition)
    let batches = Self.split(records.map(KafkaRecord.init), limit: limit + Self.batchOverhead)
    do {
      return try await writer.append(batches, to: KafkaTopicPartition(partition))
    } catch let error as KafkaClientError
      where error.errorCode == .messageTooLarge || error.errorCode == .recordListTooLarge
    {
      let size = records.reduce(0) { $0 + ($1.key?.count ?? 0) + ($1.value?.count ?? 0) }
      throw TopicStoreError.recordTooLarge(size: size, limit: limit)
    } catch {
      throw Self.translate(error, topic: partition.topic)
    }
  }

  public func read(from partition: TopicPartition, offset: Int64, maxRecords: Int, maxBytes: Int)
    async throws -> [Record]
  {
    try await checkExists(partition)
    if offset < 0 {
      // Never readable; not every broker says so (Tansu answers from offset 0).
      let bounds = try await offsets(of: partition)
      throw TopicStoreError.offsetOutOfRange(
        partition, requested: offset, start: bounds.start, end: bounds.end)
    }
    let tp = KafkaTopicPartition(partition)
    // minBytes 1 with a short wait: a broker answers at once when there are records (Tansu
    // answers a zero-byte, zero-wait fetch with nothing even then).
    let fetcher = KafkaFetcher(
      client: client, isolation: .readCommitted, maxWait: .milliseconds(100), minBytes: 1,
      maxBytes: Int32(clamping: max(maxBytes, 1)),
      partitionMaxBytes: Int32(clamping: max(maxBytes, 1)))
    var position = offset
    // Transaction markers and aborted batches advance the position without records: read on
    // (a few rounds) so that a partition with records past them does not look empty.
    for _ in 0..<8 {
      let fetched: PartitionFetch?
      do {
        fetched = try await fetcher.fetch([tp: position])[tp]
      } catch let error as KafkaClientError where error.kind == .offsetOutOfRange {
        let bounds = try await offsets(of: partition)
        if position < bounds.start {
          throw TopicStoreError.offsetOutOfRange(
            partition, requested: offset, start: bounds.start, end: bounds.end)
        }
        return []
      } catch {
        throw Self.translate(error, topic: partition.topic)
      }
      guard let fetched else { return [] }
      if fetched.records.first.map({ $0.offset > position }) ?? true,
        position < fetched.logStartOffset
      {
        // Not every broker answers OFFSET_OUT_OF_RANGE below the start (Tansu sends nothing).
        let bounds = try await offsets(of: partition)
        throw TopicStoreError.offsetOutOfRange(
          partition, requested: offset, start: bounds.start, end: bounds.end)
      }
      if !fetched.records.isEmpty {
        return fetched.records.prefix(max(1, maxRecords)).map { Record($0, of: partition) }
      }
      let stable = fetched.lastStableOffset >= 0 ? fetched.lastStableOffset : fetched.highWatermark
      guard fetched.nextOffset > position, fetched.nextOffset < stable else { return [] }
      position = fetched.nextOffset
    }
    return []
  }

  public func makeConsumer(group: String?, member: String) async throws -> any TopicConsumer {
    KafkaConsumer(store: self, groupId: group.map(Self.groupId(forConnector:)), member: member)
  }

  /// The Kafka consumer group of a sink connector: `connect-<name>`, Kafka Connect's
  /// convention, so Kafka's tools show the sink's lag where they show Connect's.
  public static func groupId(forConnector name: String) -> String { "connect-\(name)" }

  // MARK: - Helpers

  /// Start and end of each of `partitions` (ListOffsets earliest and latest).
  func endsOf(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition:
    PartitionOffsets]
  {
    guard !partitions.isEmpty else { return [:] }
    let starts = try await client.listOffsets(partitions, at: .earliest)
    let ends = try await client.listOffsets(partitions, at: .latest)
    var result: [KafkaTopicPartition: PartitionOffsets] = [:]
    for partition in partitions {
      let end = ends[partition] ?? 0
      result[partition] = PartitionOffsets(start: min(starts[partition] ?? 0, end), end: end)
    }
    return result
  }

  /// Throws ``TopicStoreError/unknownTopic(_:)`` or ``TopicStoreError/unknownPartition(_:_:partitions:)``
  /// rather than letting a request retry an absent partition until it gives up.
  private func checkExists(_ partition: TopicPartition) async throws {
    guard let count = try await partitionCount(of: partition.topic) else {
      throw TopicStoreError.unknownTopic(partition.topic)
    }
    guard (0..<count).contains(partition.partition) else {
      throw TopicStoreError.unknownPartition(
        partition.topic, partition.partition, partitions: count)
    }
  }

  /// `records` cut into batches of at most about `limit` bytes each (a broker refuses a batch
  /// larger than its `message.max.bytes`).
  static func split(_ records: [KafkaRecord], limit: Int) -> [[KafkaRecord]] {
    var batches: [[KafkaRecord]] = []
    var current: [KafkaRecord] = []
    var bytes = 61  // the batch header
    for record in records {
      let size =
        (record.key?.count ?? 0) + (record.value?.count ?? 0) + 24
        + record.headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) + 10 }
      if !current.isEmpty && bytes + size > limit {
        batches.append(current)
        current = []
        bytes = 61
      }
      current.append(record)
      bytes += size
    }
    if !current.isEmpty { batches.append(current) }
    return batches
  }

  /// The broker's `message.max.bytes` (DescribeConfigs of a broker), nil when it does not say.
  private func brokerMessageMaxBytes() async -> Int? {
    do {
      let metadata = try await client.metadata()
      guard let node = metadata.brokers.keys.sorted().first else { return nil }
      let response = try await client.connection(node: node).send(
        DescribeConfigsRequest(resources: [
          .init(resourceType: 4, resourceName: "\(node)", configurationKeys: ["message.max.bytes"])
        ]))
      for result in response.results where result.errorCode == 0 {
        for config in result.configs where config.name == "message.max.bytes" {
          if let value = config.value.flatMap(Int.init), value > 0 { return value }
        }
      }
    } catch {
      logger.debug("message.max.bytes not learned from the broker: \(error)")
    }
    return nil
  }

  /// The ``TopicStoreError`` a caller acts on for a client error.
  static func translate(_ error: any Error, topic: String? = nil) -> any Error {
    guard let error = error as? KafkaClientError else { return error }
    switch error.errorCode {
    case .messageTooLarge, .recordListTooLarge:
      return TopicStoreError.recordTooLarge(size: 0, limit: 0)
    case .invalidTopicException:
      return TopicStoreError.invalidTopicName(topic ?? "", reason: error.message)
    case .unknownTopicOrPartition:
      return TopicStoreError.unknownTopic(topic ?? "")
    case .topicAuthorizationFailed, .policyViolation:
      return TopicStoreError.topicNotAllowed(error.description)
    case .invalidTimestamp, .invalidRecord, .corruptMessage:
      return TopicStoreError.invalidRecord(error.description)
    default:
      return TopicStoreError.unavailable(error.description)
    }
  }
}

// MARK: - Conversions

extension KafkaTopicPartition {
  init(_ partition: TopicPartition) {
    self.init(partition.topic, Int32(clamping: partition.partition))
  }
}

extension TopicPartition {
  init(_ partition: KafkaTopicPartition) {
    self.init(partition.topic, Int(partition.partition))
  }
}

extension KafkaRecord {
  init(_ record: OutgoingRecord) {
    self.init(
      key: record.key, value: record.value,
      headers: record.headers.map { KafkaHeader(name: $0.name, value: $0.value) },
      timestamp: record.timestamp)
  }
}

extension Record {
  init(_ fetched: FetchedRecord, of partition: TopicPartition) {
    self.init(
      topic: partition.topic, partition: partition.partition, offset: fetched.offset,
      timestamp: fetched.record.timestamp, key: fetched.record.key, value: fetched.record.value,
      headers: fetched.record.headers.map { RecordHeader(name: $0.name, value: $0.value) })
  }
}
