import SluiceCore
import SluiceKafka

/// CreateTopics, DeleteTopics and DescribeConfigs: topics as AdminClient, kcat and Kafka
/// Connect manage them, on one node (replication factor 1).
extension KafkaBroker {
  func createTopics(_ request: CreateTopicsRequest) async -> CreateTopicsResponse {
    var response = CreateTopicsResponse()
    for topic in request.topics {
      var result = CreateTopicsResponse.CreatableTopicResult(
        name: topic.name, errorMessage: nil, numPartitions: topic.numPartitions,
        replicationFactor: 1, configs: nil)
      func refuse(_ code: KafkaErrorCode, _ message: String) {
        result.errorCode = code.rawValue
        result.errorMessage = message
      }
      let partitions =
        topic.numPartitions == -1 ? store.defaultPartitions : Int(topic.numPartitions)
      result.numPartitions = Int32(partitions)
      if ![-1, 1].contains(topic.replicationFactor) {
        refuse(.invalidReplicationFactor, "this broker is one node: replication factor 1")
      } else if !topic.assignments.isEmpty
        && topic.assignments.contains(where: { $0.brokerIds != [Self.nodeID] })
      {
        refuse(.invalidReplicaAssignment, "every partition lives on node \(Self.nodeID)")
      } else if !(1...10_000).contains(partitions) {
        refuse(.invalidPartitions, "a topic has 1 to 10000 partitions, not \(partitions)")
      } else if store.log.partitionCount(of: topic.name) != nil {
        refuse(.topicAlreadyExists, "topic '\(topic.name)' already exists")
      } else if let problem = TopicName.problem(with: topic.name) {
        refuse(.invalidTopicException, problem)
      } else if !request.validateOnly {
        do {
          try await store.createTopic(topic.name, partitions: partitions)
          logger.info(
            "topic created by a Kafka client",
            metadata: ["topic": "\(topic.name)", "partitions": "\(partitions)"])
        } catch {
          refuse(Self.errorCode(error), "\(error)")
        }
      }
      response.topics.append(result)
    }
    return response
  }

  func deleteTopics(_ request: DeleteTopicsRequest, version: Int16) async -> DeleteTopicsResponse {
    // v6 names topics in `topics`; earlier versions in `topicNames`.
    let names = version >= 6 ? request.topics.compactMap(\.name) : request.topicNames
    var response = DeleteTopicsResponse()
    for name in names {
      var result = DeleteTopicsResponse.DeletableTopicResult(name: name, errorMessage: nil)
      do {
        try await store.deleteTopic(name)
        producers.forget(topic: name)
        await groups.forget(topic: name)
        logger.info("topic deleted by a Kafka client", metadata: ["topic": "\(name)"])
      } catch {
        result.errorCode = Self.errorCode(error).rawValue
        result.errorMessage = "\(error)"
      }
      response.responses.append(result)
    }
    return response
  }

  /// Resource types of DescribeConfigs.
  private enum Resource: Int8 {
    case topic = 2
    case broker = 4
  }

  func describeConfigs(_ request: DescribeConfigsRequest) async -> DescribeConfigsResponse {
    var response = DescribeConfigsResponse()
    for resource in request.resources {
      var result = DescribeConfigsResponse.DescribeConfigsResult(
        errorMessage: nil, resourceType: resource.resourceType, resourceName: resource.resourceName)
      switch Resource(rawValue: resource.resourceType) {
      case .topic where store.log.partitionCount(of: resource.resourceName) == nil:
        result.errorCode = KafkaErrorCode.unknownTopicOrPartition.rawValue
        result.errorMessage = "unknown topic '\(resource.resourceName)'"
      case .topic, .broker:
        let wanted = resource.configurationKeys.map(Set.init)
        result.configs = effectiveConfigs().filter { wanted?.contains($0.name) ?? true }.map {
          .init(
            name: $0.name, value: $0.value, readOnly: true, configSource: 5, isSensitive: false,
            configType: $0.type)
        }
      case nil:
        result.errorCode = KafkaErrorCode.invalidRequest.rawValue
        result.errorMessage = "resource type \(resource.resourceType) is not described here"
      }
      response.results.append(result)
    }
    return response
  }

  /// The worker's log settings under Kafka's config names (read-only: they are set in
  /// worker.yaml for every topic). Types: 1 boolean, 3 int, 5 long, 2 string.
  private func effectiveConfigs() -> [(name: String, value: String, type: Int8)] {
    let log = store.log.configuration
    return [
      ("cleanup.policy", "delete", 2),
      ("retention.ms", "\(log.retention?.inMilliseconds ?? -1)", 5),
      ("retention.bytes", "\(log.retentionBytes ?? -1)", 5),
      ("segment.bytes", "\(log.segmentBytes)", 3),
      ("segment.ms", "\(log.segmentMaxAge?.inMilliseconds ?? 604_800_000)", 5),
      ("max.message.bytes", "\(maxBatchBytes)", 3),
      ("message.timestamp.type", "CreateTime", 2),
      ("min.insync.replicas", "1", 3),
      ("num.partitions", "\(store.defaultPartitions)", 3),
      ("auto.create.topics.enable", "\(config.autoCreateTopics)", 1),
    ]
  }
}
