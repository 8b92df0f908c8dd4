import SluiceCore
import SluiceKafka
import SluiceLog

/// Produce: batches stored as they came once checked, idempotent
/// producers' retries answered with the stored offset.
extension KafkaBroker {
  func produce(_ request: ProduceRequest) async -> ProduceResponse {
    // Partitions are written side by side; each answer waits for its own batch's durability.
    await withTaskGroup(of: (Int, Int, ProduceResponse.PartitionProduceResponse).self) { group in
      var response = ProduceResponse(
        responses: request.topicData.map {
          .init(
            name: $0.name,
            partitionResponses: Array(repeating: .init(), count: $0.partitionData.count))
        })
      for (t, topic) in request.topicData.enumerated() {
        for (p, data) in topic.partitionData.enumerated() {
          let partition = TopicPartition(topic.name, Int(data.index))
          let records = data.records ?? []
          group.addTask { (t, p, await self.produce(records, to: partition)) }
        }
      }
      for await (t, p, answer) in group { response.responses[t].partitionResponses[p] = answer }
      return response
    }
  }

  private func produce(_ records: [UInt8], to partition: TopicPartition) async
    -> ProduceResponse.PartitionProduceResponse
  {
    var answer = ProduceResponse.PartitionProduceResponse(
      index: Int32(partition.partition),
      currentLeader: .init(leaderId: Self.nodeID, leaderEpoch: Self.leaderEpoch))
    func fail(_ code: KafkaErrorCode, _ message: String) -> ProduceResponse.PartitionProduceResponse
    {
      answer.errorCode = code.rawValue
      answer.baseOffset = -1
      answer.errorMessage = message
      return answer
    }
    guard let count = store.log.partitionCount(of: partition.topic), partition.partition < count,
      partition.partition >= 0
    else {
      return fail(.unknownTopicOrPartition, "unknown topic or partition \(partition)")
    }
    let batch: ProducedBatch
    do {
      batch = try ProducedBatch(validating: records, maxBytes: maxBatchBytes)
    } catch {
      return fail(Self.errorCode(error), error.description)
    }
    guard batch.isTransactional else { return await produce(batch, to: partition, answer: answer) }
    // Only to a partition added to the producer's ongoing transaction; the transaction's
    // markers wait for the append.
    let allowed = await transactions.beginAppend(
      producerID: batch.producerID, epoch: batch.producerEpoch, partition: partition)
    guard allowed == .none else {
      return fail(
        allowed,
        "producer \(batch.producerID) epoch \(batch.producerEpoch) has no ongoing transaction with \(partition)"
      )
    }
    let stored = await produce(batch, to: partition, answer: answer)
    await transactions.appended(producerID: batch.producerID)
    return stored
  }

  /// Stores a checked batch unless its producer's sequence says it is a retry, a gap or fenced.
  private func produce(
    _ batch: ProducedBatch, to partition: TopicPartition,
    answer: ProduceResponse.PartitionProduceResponse
  ) async -> ProduceResponse.PartitionProduceResponse {
    var answer = answer
    func fail(_ code: KafkaErrorCode, _ message: String) -> ProduceResponse.PartitionProduceResponse
    {
      answer.errorCode = code.rawValue
      answer.baseOffset = -1
      answer.errorMessage = message
      return answer
    }
    let store = self.store
    var decision: PartitionProducers.Decision
    // A retry of a batch still being written (its first request's answer was lost with its
    // connection) waits for it, so that it is answered with the stored offset.
    let patience = ContinuousClock.now + .seconds(30)
    repeat {
      do {
        decision = try producers.decide(batch, in: partition) {
          try store.recentProducerBatches(in: partition, window: ProducerRegistry.recoveryWindow)
        }
      } catch {
        return fail(Self.errorCode(error), "\(error)")
      }
      guard PartitionProducers.isInFlight(decision), ContinuousClock.now < patience else { break }
      try? await Task.sleep(for: .milliseconds(5))
    } while true
    if decision != .append {
      logger.debug(
        "idempotent producer batch not appended",
        metadata: [
          "partition": "\(partition)", "producer": "\(batch.producerID)",
          "epoch": "\(batch.producerEpoch)",
          "sequences": "\(batch.baseSequence)...\(batch.lastSequence)", "decision": "\(decision)",
        ])
    }
    switch decision {
    case .duplicate(let first) where first == PartitionProducers.inFlight:
      // Still being written after 30 s: clients take this as delivered, without an offset.
      return fail(.duplicateSequenceNumber, "this batch is still being written")
    case .duplicate(let first):
      answer.baseOffset = first
    case .outOfOrder(let expected, let received):
      return fail(
        .outOfOrderSequenceNumber,
        "expected sequence \(expected) from this producer, got \(received)")
    case .fenced(let current, let received):
      return fail(.invalidProducerEpoch, "producer epoch \(received) is older than \(current)")
    case .append:
      do {
        answer.baseOffset = try await store.append(batch, to: partition)
        producers.stored(batch, in: partition, at: answer.baseOffset)
      } catch {
        producers.failed(batch, in: partition)
        return fail(Self.errorCode(error), "\(error)")
      }
    }
    answer.logStartOffset = (try? await store.offsets(of: partition).start) ?? -1
    return answer
  }
}
