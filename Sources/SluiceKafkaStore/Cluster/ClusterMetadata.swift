import SluiceKafka

/// A partition of a topic.
public struct KafkaTopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// The topic's name.
  public var topic: String
  /// The partition's index.
  public var partition: Int32

  /// Partition `partition` of `topic`.
  public init(_ topic: String, _ partition: Int32) {
    self.topic = topic
    self.partition = partition
  }

  public static func < (a: KafkaTopicPartition, b: KafkaTopicPartition) -> Bool {
    (a.topic, a.partition) < (b.topic, b.partition)
  }

  public var description: String { "\(topic)-\(partition)" }
}

/// What a Metadata answer says about one partition.
public struct PartitionMetadata: Sendable, Equatable {
  /// The partition index.
  public var partition: Int32
  /// The leader's node id, -1 when there is none.
  public var leader: Int32
  /// The leader epoch.
  public var leaderEpoch: Int32
  /// The partition's error code (0 when fine).
  public var errorCode: Int16
}

/// What a Metadata answer says about one topic.
public struct TopicMetadata: Sendable, Equatable {
  /// The topic's name.
  public var name: String
  /// The topic's error code (0 when fine; UNKNOWN_TOPIC_OR_PARTITION when absent).
  public var errorCode: Int16
  /// Its partitions by index.
  public var partitions: [Int32: PartitionMetadata]
}

/// The cluster as the last Metadata answer described it.
public struct ClusterMetadata: Sendable, Equatable {
  /// The cluster id, if the broker sent one.
  public var clusterId: String?
  /// The controller's node id (-1 if unknown).
  public var controllerId: Int32
  /// Broker addresses by node id.
  public var brokers: [Int32: BrokerAddress]
  /// Topics by name (only those asked for).
  public var topics: [String: TopicMetadata]

  /// The metadata a Metadata response carries.
  public init(_ response: MetadataResponse) {
    clusterId = response.clusterId
    controllerId = response.controllerId
    brokers = Dictionary(
      response.brokers.map { ($0.nodeId, BrokerAddress(host: $0.host, port: Int($0.port))) },
      uniquingKeysWith: { _, last in last })
    var topics: [String: TopicMetadata] = [:]
    for topic in response.topics {
      guard let name = topic.name else { continue }
      topics[name] = TopicMetadata(
        name: name, errorCode: topic.errorCode,
        partitions: Dictionary(
          topic.partitions.map {
            (
              $0.partitionIndex,
              PartitionMetadata(
                partition: $0.partitionIndex, leader: $0.leaderId, leaderEpoch: $0.leaderEpoch,
                errorCode: $0.errorCode)
            )
          }, uniquingKeysWith: { _, last in last }))
    }
    self.topics = topics
  }

  /// The leader's node id of `partition`, nil when unknown or leaderless.
  public func leader(of partition: KafkaTopicPartition) -> Int32? {
    guard let metadata = topics[partition.topic]?.partitions[partition.partition],
      metadata.leader >= 0
    else { return nil }
    return metadata.leader
  }

  /// The number of partitions of `topic`, nil when the topic is unknown.
  public func partitionCount(of topic: String) -> Int? {
    guard let metadata = topics[topic], metadata.errorCode == 0 else { return nil }
    return metadata.partitions.count
  }
}

/// What a ``KafkaClient/createTopics(_:)`` creates.
public struct NewTopic: Sendable, Equatable {
  /// The topic's name.
  public var name: String
  /// How many partitions.
  public var partitions: Int32
  /// How many replicas of each (-1: the broker's default).
  public var replicationFactor: Int16
  /// Topic configs, e.g. `cleanup.policy` = `compact`.
  public var configs: [String: String]

  /// A topic `name` with `partitions` partitions.
  public init(
    name: String, partitions: Int32, replicationFactor: Int16 = -1, configs: [String: String] = [:]
  ) {
    self.name = name
    self.partitions = partitions
    self.replicationFactor = replicationFactor
    self.configs = configs
  }
}

/// Which end of a partition ``KafkaClient/listOffsets(_:at:isolation:)`` asks for.
public enum OffsetSpec: Sendable, Equatable {
  /// The first offset still in the log.
  case earliest
  /// The offset the next record will get (the high watermark, or the last stable offset
  /// under read_committed).
  case latest
  /// The first offset whose timestamp is at or after this (milliseconds).
  case timestamp(Int64)

  var wireValue: Int64 {
    switch self {
    case .earliest: return -2
    case .latest: return -1
    case .timestamp(let ms): return ms
    }
  }
}

/// Which records a fetch (or ListOffsets latest) sees.
public enum IsolationLevel: Int8, Sendable {
  /// Everything written, also of open and aborted transactions.
  case readUncommitted = 0
  /// Only committed records, up to the last stable offset.
  case readCommitted = 1
}

/// The coordinator kinds of FindCoordinator.
public enum CoordinatorType: Int8, Sendable, Hashable {
  /// A consumer group's coordinator (key: the group id).
  case group = 0
  /// A transactional producer's coordinator (key: the transactional id).
  case transaction = 1
}
