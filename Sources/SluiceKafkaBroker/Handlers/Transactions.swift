import Foundation
import SluiceCore
import SluiceKafka

/// InitProducerId and the transaction APIs (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
/// TxnOffsetCommit): thin glue between the requests and the ``TransactionCoordinator``.
extension KafkaBroker {
  func initProducerId(_ request: InitProducerIdRequest) async -> InitProducerIdResponse {
    if let id = request.transactionalId, !id.isEmpty {
      let (error, producerID, epoch) = await transactions.initProducer(
        transactionalID: id, timeoutMs: request.transactionTimeoutMs,
        producerID: request.producerId, epoch: request.producerEpoch)
      logger.debug(
        "transactional producer id given",
        metadata: [
          "transactional_id": "\(id)", "given": "\(producerID)/\(epoch)", "error": "\(error)",
        ])
      return InitProducerIdResponse(
        errorCode: error.rawValue, producerId: producerID, producerEpoch: epoch)
    }
    let (id, epoch) = producers.initProducer(id: request.producerId, epoch: request.producerEpoch)
    logger.debug(
      "producer id given",
      metadata: [
        "asked": "\(request.producerId)/\(request.producerEpoch)", "given": "\(id)/\(epoch)",
      ])
    return InitProducerIdResponse(producerId: id, producerEpoch: epoch)
  }

  func addPartitionsToTxn(_ request: AddPartitionsToTxnRequest) async
    -> AddPartitionsToTxnResponse
  {
    var partitions: [TopicPartition] = []
    var unknown: Set<TopicPartition> = []
    for topic in request.v3AndBelowTopics {
      let count = store.log.partitionCount(of: topic.name) ?? 0
      for p in topic.partitions {
        let partition = TopicPartition(topic.name, Int(p))
        if p >= 0 && Int(p) < count {
          partitions.append(partition)
        } else {
          unknown.insert(partition)
        }
      }
    }
    // Kafka adds none when any is unknown: those answer UNKNOWN_TOPIC_OR_PARTITION, the others
    // OPERATION_NOT_ATTEMPTED.
    let error: KafkaErrorCode =
      unknown.isEmpty
      ? await transactions.addPartitions(
        transactionalID: request.v3AndBelowTransactionalId,
        producerID: request.v3AndBelowProducerId, epoch: request.v3AndBelowProducerEpoch,
        partitions: partitions)
      : .operationNotAttempted
    return AddPartitionsToTxnResponse(
      resultsByTopicV3AndBelow: request.v3AndBelowTopics.map { topic in
        .init(
          name: topic.name,
          resultsByPartition: topic.partitions.map { p in
            let code =
              unknown.contains(TopicPartition(topic.name, Int(p)))
              ? KafkaErrorCode.unknownTopicOrPartition : error
            return .init(partitionIndex: p, partitionErrorCode: code.rawValue)
          })
      })
  }

  func addOffsetsToTxn(_ request: AddOffsetsToTxnRequest) async -> AddOffsetsToTxnResponse {
    let error = await transactions.addOffsets(
      transactionalID: request.transactionalId, producerID: request.producerId,
      epoch: request.producerEpoch, group: request.groupId)
    return AddOffsetsToTxnResponse(errorCode: error.rawValue)
  }

  func txnOffsetCommit(_ request: TxnOffsetCommitRequest) async -> TxnOffsetCommitResponse {
    var committed: [TopicPartition: GroupOffsetStore.Committed] = [:]
    let now = currentTimeMillis()
    for topic in request.topics {
      for p in topic.partitions {
        committed[TopicPartition(topic.name, Int(p.partitionIndex))] = .init(
          offset: p.committedOffset, metadata: p.committedMetadata,
          leaderEpoch: p.committedLeaderEpoch, commitTimestamp: now)
      }
    }
    let error = await transactions.commitOffsets(
      transactionalID: request.transactionalId, producerID: request.producerId,
      epoch: request.producerEpoch, group: request.groupId, offsets: committed)
    return TxnOffsetCommitResponse(
      topics: request.topics.map { topic in
        .init(
          name: topic.name,
          partitions: topic.partitions.map {
            .init(partitionIndex: $0.partitionIndex, errorCode: error.rawValue)
          })
      })
  }

  func endTxn(_ request: EndTxnRequest) async -> EndTxnResponse {
    let error = await transactions.end(
      transactionalID: request.transactionalId, producerID: request.producerId,
      epoch: request.producerEpoch, commit: request.committed)
    logger.debug(
      "transaction ended",
      metadata: [
        "transactional_id": "\(request.transactionalId)", "commit": "\(request.committed)",
        "error": "\(error)",
      ])
    return EndTxnResponse(errorCode: error.rawValue)
  }
}
