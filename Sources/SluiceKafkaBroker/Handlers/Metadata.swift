import SluiceCore
import SluiceKafka

/// Metadata, DescribeCluster and FindCoordinator: one node, leader of everything.
extension KafkaBroker {
  /// Kafka's clusterId is opaque to clients; one fixed value names this single-node cluster.
  static let clusterID = "sluice-embedded-log"

  var advertisedBroker: (host: String, port: Int32) {
    let (host, port) = config.advertised
    return (host, Int32(port))
  }

  func metadata(_ request: MetadataRequest, version: Int16) async -> MetadataResponse {
    let (host, port) = advertisedBroker
    var response = MetadataResponse(
      brokers: [.init(nodeId: Self.nodeID, host: host, port: port)], clusterId: Self.clusterID,
      controllerId: Self.nodeID)
    // v0: an empty list means every topic; v1+: nil does.
    let names: [String]
    if let topics = request.topics, !(version == 0 && topics.isEmpty) {
      names = topics.compactMap(\.name)
    } else {
      names = store.log.topicNames()
    }
    let create = request.allowAutoTopicCreation && config.autoCreateTopics && request.topics != nil
    for name in names {
      response.topics.append(await topicMetadata(name, create: create))
    }
    return response
  }

  private func topicMetadata(_ name: String, create: Bool) async
    -> MetadataResponse
    .MetadataResponseTopic
  {
    var count = store.log.partitionCount(of: name)
    if count == nil && create {
      do {
        count = try await store.ensureTopic(name)
        logger.info("topic created by a Kafka client", metadata: ["topic": "\(name)"])
      } catch {
        return .init(errorCode: Self.errorCode(error).rawValue, name: name)
      }
    }
    guard let count else {
      return .init(errorCode: KafkaErrorCode.unknownTopicOrPartition.rawValue, name: name)
    }
    return .init(
      name: name,
      partitions: (0..<count).map { p in
        .init(
          partitionIndex: Int32(p), leaderId: Self.nodeID, leaderEpoch: Self.leaderEpoch,
          replicaNodes: [Self.nodeID], isrNodes: [Self.nodeID], offlineReplicas: [])
      })
  }

  func describeCluster() -> DescribeClusterResponse {
    let (host, port) = advertisedBroker
    return DescribeClusterResponse(
      clusterId: Self.clusterID, controllerId: Self.nodeID,
      brokers: [.init(brokerId: Self.nodeID, host: host, port: port)])
  }

  /// Every group (and transaction) coordinator is this node.
  func findCoordinator(_ request: FindCoordinatorRequest, version: Int16) -> FindCoordinatorResponse
  {
    let (host, port) = advertisedBroker
    // v4 batches keys; earlier versions ask for one key and get one answer.
    if version >= 4 {
      return FindCoordinatorResponse(
        errorMessage: nil,
        coordinators: request.coordinatorKeys.map {
          .init(key: $0, nodeId: Self.nodeID, host: host, port: port, errorMessage: nil)
        })
    }
    return FindCoordinatorResponse(errorMessage: nil, nodeId: Self.nodeID, host: host, port: port)
  }
}
