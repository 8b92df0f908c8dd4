import SluiceCompression
import SluiceKafka

/// The consumer group a transaction's offsets belong to (KIP-447: the member's generation, so
/// that a zombie member's commits are fenced too).
public struct ConsumerGroupMetadata: Sendable, Equatable {
  /// The group id.
  public var groupId: String
  /// The member's generation (-1 when not a member).
  public var generationId: Int32
  /// The member id ("" when not a member).
  public var memberId: String
  /// The static member id, if any.
  public var groupInstanceId: String?

  /// Metadata of `groupId`; without a member, the offsets are committed as by a standalone
  /// consumer.
  public init(
    groupId: String, generationId: Int32 = -1, memberId: String = "", groupInstanceId: String? = nil
  ) {
    self.groupId = groupId
    self.generationId = generationId
    self.memberId = memberId
    self.groupInstanceId = groupInstanceId
  }
}

/// An idempotent producer (InitProducerId without a transactional id; a producer id, epoch and
/// per-partition sequence numbers in every batch, acks all), and with a transactional id a
/// transactional one: ``beginTransaction()``, writes, ``sendOffsetsToTransaction(_:group:)``,
/// then ``commitTransaction()`` or ``abortTransaction()``. Initializing with a transactional id
/// fences every older producer with the same id, whose next request fails with
/// ``KafkaClientError/Kind/fenced``.
///
/// Writes to one partition must be awaited one after another (each batch's sequence follows
/// the last one's).
public actor KafkaProducer {
  /// The cluster client the producer writes through.
  public nonisolated let client: KafkaClient
  /// The transactional id, nil for an idempotent-only producer.
  public nonisolated let transactionalId: String?
  private let transactionTimeout: Duration
  private let compression: RecordBatchCompression
  private var machine: ProducerStateMachine

  /// A producer on `client`; call ``initialize()`` before writing.
  public init(
    client: KafkaClient, transactionalId: String? = nil,
    transactionTimeout: Duration = .seconds(60), compression: RecordBatchCompression = .none
  ) {
    self.client = client
    self.transactionalId = transactionalId
    self.transactionTimeout = transactionTimeout
    self.compression = compression
    machine = ProducerStateMachine(transactional: transactionalId != nil)
  }

  /// Where the producer is.
  public var state: ProducerStateMachine.State { machine.state }
  /// The producer id and epoch the broker gave.
  public var producerIdAndEpoch: (id: Int64, epoch: Int16) {
    (machine.producerId, machine.producerEpoch)
  }

  /// Gets a producer id (and, with a transactional id, fences older producers of that id and
  /// aborts their open transaction).
  public func initialize() async throws {
    try machine.initializing()
    let request = InitProducerIdRequest(
      transactionalId: transactionalId, transactionTimeoutMs: transactionTimeout.milliseconds,
      producerId: -1, producerEpoch: -1)
    do {
      let response = try await client.withRetries("InitProducerId") {
        let connection = try await self.transactionCoordinatorOrAny()
        let response = try await connection.send(request)
        try await self.check(response.errorCode, "InitProducerId", connection)
        return response
      }
      machine.initialized(producerId: response.producerId, epoch: response.producerEpoch)
    } catch let error as KafkaClientError {
      if error.kind == .fenced { machine.fenced() } else { machine.failed(error.message) }
      throw error
    }
  }

  /// Writes `records` as one batch to `partition` and returns the offset of the first; inside
  /// the open transaction for a transactional producer. A batch resent after a lost answer is
  /// recognised by its sequence and not stored again; Kafka then answers with the offset it was
  /// stored at (the batch is always among the last five it keeps, one batch per partition
  /// being in flight), but an answer of DUPLICATE_SEQUENCE_NUMBER, or librdkafka's mock, gives
  /// -1: the offset is then unknown.
  @discardableResult
  public func send(_ records: [KafkaRecord], to partition: KafkaTopicPartition) async throws
    -> Int64
  {
    guard !records.isEmpty else {
      throw KafkaClientError(.invalidState, "an empty batch to \(partition)")
    }
    let toAdd = try machine.partitionsToAdd([partition])
    if !toAdd.isEmpty { try await addPartitions(toAdd) }
    let baseSequence = try machine.reserveSequence(for: partition, count: records.count)
    let batch = try RecordBatchEncoder(
      producerId: machine.producerId, producerEpoch: machine.producerEpoch,
      baseSequence: baseSequence, isTransactional: machine.isTransactional,
      compression: compression
    ).encode(records)
    let request = ProduceRequest(
      transactionalId: transactionalId, acks: -1,
      timeoutMs: client.configuration.requestTimeout.milliseconds,
      topicData: [
        .init(
          name: partition.topic, partitionData: [.init(index: partition.partition, records: batch)])
      ])
    do {
      // A retry resends the same batch: the broker recognises its sequence and does not store
      // it twice.
      return try await client.withRetries("Produce to \(partition)") {
        let connection = try await self.client.leaderConnection(for: partition)
        let response = try await connection.send(request)
        guard
          let result = response.responses.first(where: { $0.name == partition.topic })?
            .partitionResponses.first(where: { $0.index == partition.partition })
        else {
          throw KafkaClientError(.protocolViolation, "Produce answer without \(partition)")
        }
        if result.errorCode == KafkaErrorCode.duplicateSequenceNumber.rawValue {
          return result.baseOffset
        }
        try await self.check(
          result.errorCode, "Produce to \(partition)", connection, answeredBy: .partitionLeader)
        return result.baseOffset
      }
    } catch let error as KafkaClientError {
      if error.kind == .fenced { machine.fenced() } else { machine.writeFailed(error.message) }
      throw error
    }
  }

  // MARK: - Transactions

  /// Opens a transaction (no request until the first write).
  public func beginTransaction() throws {
    try machine.beginTransaction()
  }

  /// Adds consumer offsets to the open transaction (AddOffsetsToTxn, then TxnOffsetCommit to
  /// the group's coordinator): they are committed if and only if the transaction is.
  public func sendOffsetsToTransaction(
    _ offsets: [KafkaTopicPartition: Int64], group: ConsumerGroupMetadata
  ) async throws {
    try machine.checkCanAddOffsets()
    guard let transactionalId else { return }
    let (producerId, epoch) = (machine.producerId, machine.producerEpoch)
    do {
      if !machine.groupsInTransaction.contains(group.groupId) {
        try await client.withRetries("AddOffsetsToTxn") {
          let connection = try await self.client.coordinator(.transaction, key: transactionalId)
          let response = try await connection.send(
            AddOffsetsToTxnRequest(
              transactionalId: transactionalId, producerId: producerId, producerEpoch: epoch,
              groupId: group.groupId))
          try await self.check(response.errorCode, "AddOffsetsToTxn", connection)
        }
        try machine.groupAdded(group.groupId)
      }
      let byTopic = Dictionary(grouping: offsets.keys, by: \.topic)
      let request = TxnOffsetCommitRequest(
        transactionalId: transactionalId, groupId: group.groupId, producerId: producerId,
        producerEpoch: epoch, generationId: group.generationId, memberId: group.memberId,
        groupInstanceId: group.groupInstanceId,
        topics: byTopic.keys.sorted().map { topic in
          .init(
            name: topic,
            partitions: byTopic[topic]!.sorted().map {
              .init(
                partitionIndex: $0.partition, committedOffset: offsets[$0]!,
                committedLeaderEpoch: -1, committedMetadata: nil)
            })
        })
      try await client.withRetries("TxnOffsetCommit") {
        let connection = try await self.client.coordinator(.group, key: group.groupId)
        let response = try await connection.send(request)
        for topic in response.topics {
          for partition in topic.partitions {
            try await self.check(
              partition.errorCode, "TxnOffsetCommit \(topic.name)-\(partition.partitionIndex)",
              connection, answeredBy: .groupCoordinator(group.groupId))
          }
        }
      }
    } catch let error as KafkaClientError {
      if error.kind == .fenced { machine.fenced() } else { machine.writeFailed(error.message) }
      throw error
    }
  }

  /// Commits the open transaction: its records become visible to read_committed readers and its
  /// offsets are committed.
  public func commitTransaction() async throws {
    try await endTransaction(commit: true)
  }

  /// Aborts the open transaction: its records are never visible to read_committed readers.
  public func abortTransaction() async throws {
    try await endTransaction(commit: false)
  }

  private func endTransaction(commit: Bool) async throws {
    guard case .sendEndTxn = try machine.endTransaction(commit: commit),
      let transactionalId
    else { return }
    let request = EndTxnRequest(
      transactionalId: transactionalId, producerId: machine.producerId,
      producerEpoch: machine.producerEpoch, committed: commit)
    do {
      try await client.withRetries(commit ? "EndTxn commit" : "EndTxn abort") {
        let connection = try await self.client.coordinator(.transaction, key: transactionalId)
        let response = try await connection.send(request)
        try await self.check(response.errorCode, "EndTxn", connection)
      }
      machine.transactionEnded()
    } catch let error as KafkaClientError {
      if error.kind == .fenced { machine.fenced() } else { machine.failed(error.message) }
      throw error
    }
  }

  private func addPartitions(_ partitions: [KafkaTopicPartition]) async throws {
    guard let transactionalId else { return }
    let byTopic = Dictionary(grouping: partitions, by: \.topic)
    let request = AddPartitionsToTxnRequest(
      v3AndBelowTransactionalId: transactionalId, v3AndBelowProducerId: machine.producerId,
      v3AndBelowProducerEpoch: machine.producerEpoch,
      v3AndBelowTopics: byTopic.keys.sorted().map {
        .init(name: $0, partitions: byTopic[$0]!.map(\.partition).sorted())
      })
    do {
      try await client.withRetries("AddPartitionsToTxn") {
        let connection = try await self.client.coordinator(.transaction, key: transactionalId)
        let response = try await connection.send(request)
        for topic in response.resultsByTopicV3AndBelow {
          for partition in topic.resultsByPartition {
            try await self.check(
              partition.partitionErrorCode,
              "AddPartitionsToTxn \(topic.name)-\(partition.partitionIndex)", connection)
          }
        }
      }
      machine.partitionsAdded(partitions)
    } catch let error as KafkaClientError {
      if error.kind == .fenced { machine.fenced() } else { machine.writeFailed(error.message) }
      throw error
    }
  }

  /// Closes the producer (an open transaction is left to time out at the coordinator).
  public func close() {
    machine.close()
  }

  // MARK: - Helpers

  private func transactionCoordinatorOrAny() async throws -> BrokerConnection {
    if let transactionalId {
      return try await client.coordinator(.transaction, key: transactionalId)
    }
    return try await client.anyConnection()
  }

  /// Which broker answered a request, for what its errors make stale.
  private enum Answerer {
    /// The transaction coordinator (or, without a transactional id, any broker).
    case transactionCoordinator
    /// The coordinator of this consumer group.
    case groupCoordinator(String)
    /// A partition's leader: its errors are about the partition (the metadata, which
    /// ``KafkaClient/withRetries(_:_:)`` refreshes), never about a coordinator.
    case partitionLeader
  }

  /// Throws the error `code` stands for; a coordinator's error also forgets the coordinator.
  private func check(
    _ code: Int16, _ context: String, _ connection: BrokerConnection,
    answeredBy answerer: Answerer = .transactionCoordinator
  ) async throws {
    guard code != 0 else { return }
    let error = KafkaClientError.server(code, context, broker: connection.address.description)
    if error.needsMetadataRefresh || KafkaErrorCode(rawValue: code) == .coordinatorLoadInProgress {
      switch answerer {
      case .groupCoordinator(let group):
        await client.invalidateCoordinator(.group, key: group)
      case .transactionCoordinator:
        if let transactionalId {
          await client.invalidateCoordinator(.transaction, key: transactionalId)
        }
      case .partitionLeader:
        break
      }
    }
    throw error
  }
}
