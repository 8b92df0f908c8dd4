import SluiceKafka

extension KafkaClient {
  /// Creates `topics` (a topic that exists already is fine when `ifNotExists`) and waits until
  /// the metadata shows a leader for each of their partitions.
  public func createTopics(_ topics: [NewTopic], ifNotExists: Bool = true) async throws {
    let timeout = configuration.requestTimeout
    // Topics that existed already keep their partition count: only the new ones are waited for.
    let created = try await withRetries("CreateTopics") {
      var existing: Set<String> = []
      let connection = try await self.controllerConnection()
      let response = try await connection.send(
        CreateTopicsRequest(
          topics: topics.map { topic in
            .init(
              name: topic.name, numPartitions: topic.partitions,
              replicationFactor: topic.replicationFactor,
              configs: topic.configs.sorted { $0.key < $1.key }.map {
                .init(name: $0.key, value: $0.value)
              })
          }, timeoutMs: timeout.milliseconds))
      for result in response.topics where result.errorCode != 0 {
        if ifNotExists && result.errorCode == KafkaErrorCode.topicAlreadyExists.rawValue {
          existing.insert(result.name)
          continue
        }
        let error = KafkaClientError.server(
          result.errorCode,
          "CreateTopics \(result.name)\(result.errorMessage.map { ": \($0)" } ?? "")",
          broker: connection.address.description)
        if error.isRetriable { throw error }
        throw KafkaClientError(
          .server, code: result.errorCode, broker: error.broker, error.message)
      }
      return topics.filter { !existing.contains($0.name) }
    }
    // Wait until every partition has a leader (a new topic's metadata lags on some brokers).
    try await withRetries("metadata of new topics") {
      let metadata = try await self.refreshMetadataIncluding(topics.map(\.name))
      for topic in created {
        for index in 0..<topic.partitions
        where metadata.leader(of: KafkaTopicPartition(topic.name, index)) == nil {
          throw KafkaClientError.server(
            KafkaErrorCode.leaderNotAvailable.rawValue, "new topic \(topic.name)-\(index)")
        }
      }
    }
  }

  private func refreshMetadataIncluding(_ topics: [String]) async throws -> ClusterMetadata {
    _ = try await metadata(topics: topics)
    return try await refreshMetadata()
  }

  /// The controller if the metadata names one, else any broker (brokers forward admin
  /// requests to the controller since KIP-590).
  func controllerConnection() async throws -> BrokerConnection {
    let metadata = try await metadata()
    if metadata.controllerId >= 0, metadata.brokers[metadata.controllerId] != nil {
      return try connection(node: metadata.controllerId)
    }
    return try await anyConnection()
  }

  /// The offsets `spec` names for each of `partitions` (asking each partition's leader).
  public func listOffsets(
    _ partitions: [KafkaTopicPartition], at spec: OffsetSpec,
    isolation: IsolationLevel = .readUncommitted
  ) async throws -> [KafkaTopicPartition: Int64] {
    try await withRetries("ListOffsets") {
      var byLeader: [Int32: [KafkaTopicPartition]] = [:]
      for partition in partitions {
        byLeader[try await self.leader(of: partition), default: []].append(partition)
      }
      var result: [KafkaTopicPartition: Int64] = [:]
      for (leader, partitions) in byLeader {
        let connection = try await self.connection(node: leader)
        let topics = Dictionary(grouping: partitions, by: \.topic)
        let response = try await connection.send(
          ListOffsetsRequest(
            replicaId: -1, isolationLevel: isolation.rawValue,
            topics: topics.keys.sorted().map { topic in
              .init(
                name: topic,
                partitions: topics[topic]!.map {
                  .init(
                    partitionIndex: $0.partition, currentLeaderEpoch: -1, timestamp: spec.wireValue)
                })
            }))
        for topic in response.topics {
          for partition in topic.partitions {
            guard partition.errorCode == 0 else {
              throw KafkaClientError.server(
                partition.errorCode, "ListOffsets \(topic.name)-\(partition.partitionIndex)",
                broker: connection.address.description)
            }
            result[KafkaTopicPartition(topic.name, partition.partitionIndex)] = partition.offset
          }
        }
      }
      return result
    }
  }
}
