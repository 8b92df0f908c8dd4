import NIOCore
import NIOPosix
import SluiceCore
import SluiceKafka
import SluiceLog

/// Fetch, ListOffsets and OffsetForLeaderEpoch: stored batches served as they lie, long polls
/// woken by appends.
extension KafkaBroker {
  /// The Fetch response frame for request `correlationId`, as buffers to write in order, and
  /// its first partition error code (for the request metrics). The
  /// segments are read on a thread of NIO's blocking pool, never on an event loop or the
  /// cooperative pool (DESIGN.md §7); each partition's batches go from the file straight into
  /// the buffer that is sent (``RecordSet``).
  func fetch(_ request: FetchRequest, version: Int16, correlationId: Int32) async -> (
    frame: [ByteBuffer], errorCode: Int16
  ) {
    let deadline = ContinuousClock.now + .milliseconds(max(0, Int64(request.maxWaitMs)))
    while true {
      let appends = store.appendVersion
      let pass = await readFetchOffTheLoop(request)
      if pass.failed || pass.bytes >= max(1, Int(request.minBytes))
        || ContinuousClock.now >= deadline
      {
        return (
          pass.frame(for: request, version: version, correlationId: correlationId),
          pass.firstErrorCode
        )
      }
      _ = await store.waitForAppends(after: appends, timeout: deadline - ContinuousClock.now)
      if ContinuousClock.now >= deadline {
        let last = await readFetchOffTheLoop(request)
        return (
          last.frame(for: request, version: version, correlationId: correlationId),
          last.firstErrorCode
        )
      }
    }
  }

  /// One pass over the requested partitions: each one's answer and record set, their record
  /// bytes, and whether any partition answered with an error (which is sent at once, as Kafka
  /// does).
  struct FetchPass: Sendable {
    /// Per topic of the request, per partition: the answer (its `records` unused) and the
    /// batches read.
    var answers: [[(answer: FetchResponse.PartitionData, records: ByteBuffer)]] = []
    var bytes = 0
    var failed = false

    /// The first partition's error code that is not 0, or 0.
    var firstErrorCode: Int16 {
      for topic in answers {
        for (answer, _) in topic where answer.errorCode != 0 { return answer.errorCode }
      }
      return 0
    }

    /// The response frame of this pass.
    func frame(for request: FetchRequest, version: Int16, correlationId: Int32) -> [ByteBuffer] {
      // No fetch sessions (KIP-227): session 0 makes every client send full fetches.
      var frame = FetchResponseFrame(
        correlationId: correlationId, version: version, topicCount: request.topics.count)
      for (topic, answers) in zip(request.topics, self.answers) {
        frame.startTopic(topic.topic, partitionCount: answers.count)
        for (answer, records) in answers { frame.addPartition(answer, records: records) }
        frame.endTopic()
      }
      return frame.finish()
    }
  }

  private func readFetchOffTheLoop(_ request: FetchRequest) async -> FetchPass {
    do {
      return try await NIOThreadPool.singleton.runIfActive { self.readFetch(request) }
    } catch {
      // The pool refuses work only once shut down (the process is ending) or when this task
      // is cancelled (its connection is closing): every partition answers with the error.
      var pass = FetchPass(failed: true)
      for topic in request.topics {
        pass.answers.append(
          topic.partitions.map { p in
            var answer = FetchResponse.PartitionData(
              partitionIndex: p.partition, errorCode: KafkaErrorCode.unknownServerError.rawValue,
              highWatermark: -1,
              currentLeader: .init(leaderId: Self.nodeID, leaderEpoch: Self.leaderEpoch))
            answer.records = []
            return (answer, ByteBuffer())
          })
      }
      return pass
    }
  }

  /// Reads one pass (blocking: file reads).
  private func readFetch(_ request: FetchRequest) -> FetchPass {
    var pass = FetchPass()
    let limit = request.maxBytes > 0 ? Int(request.maxBytes) : Int(Int32.max)
    for topic in request.topics {
      var answers: [(answer: FetchResponse.PartitionData, records: ByteBuffer)] = []
      answers.reserveCapacity(topic.partitions.count)
      for p in topic.partitions {
        let partition = TopicPartition(topic.topic, Int(p.partition))
        var answer = FetchResponse.PartitionData(
          partitionIndex: p.partition,
          currentLeader: .init(leaderId: Self.nodeID, leaderEpoch: Self.leaderEpoch), records: [])
        var records = RecordSet()
        do {
          let offsets = try store.log.offsets(
            topic: partition.topic, partition: partition.partition)
          answer.highWatermark = offsets.end
          answer.lastStableOffset = offsets.end
          answer.logStartOffset = offsets.start
          // read_committed: nothing at or past the last stable offset, and the aborted
          // transactions of the range, whose records the client drops.
          var stable = Int64.max
          if request.isolationLevel == 1 {
            let transactions = try store.transactions(of: partition)
            stable = transactions.lastStableOffset(highWatermark: offsets.end)
            answer.lastStableOffset = stable
            answer.abortedTransactions = transactions.abortedTransactions(
              from: p.fetchOffset, below: stable
            ).map { .init(producerId: $0.producerID, firstOffset: $0.firstOffset) }
          }
          // The first batch of a fetch is sent whole even past the limits (KIP-74), so that
          // one large batch cannot stall its consumer; after that the limits hold.
          let room = min(Int(max(0, p.partitionMaxBytes)), limit - pass.bytes)
          if room > 0 || pass.bytes == 0 {
            pass.bytes += try store.readBatches(
              from: partition, offset: p.fetchOffset, below: stable, maxBytes: max(room, 1),
              into: &records)
          }
        } catch {
          answer.errorCode = Self.errorCode(error).rawValue
          answer.highWatermark = -1
          records = RecordSet()
          pass.failed = true
        }
        answers.append((answer, records.buffer))
      }
      pass.answers.append(answers)
    }
    return pass
  }

  func listOffsets(_ request: ListOffsetsRequest) async -> ListOffsetsResponse {
    var response = ListOffsetsResponse()
    for topic in request.topics {
      var answers = ListOffsetsResponse.ListOffsetsTopicResponse(name: topic.name)
      for p in topic.partitions {
        let partition = TopicPartition(topic.name, Int(p.partitionIndex))
        var answer = ListOffsetsResponse.ListOffsetsPartitionResponse(
          partitionIndex: p.partitionIndex, timestamp: -1, offset: -1, leaderEpoch: Self.leaderEpoch
        )
        do {
          let offsets = try store.log.offsets(
            topic: partition.topic, partition: partition.partition)
          switch p.timestamp {
          case -2: answer.offset = offsets.start  // earliest
          case -1:  // latest: for read_committed, the last stable offset
            answer.offset =
              request.isolationLevel == 1
              ? try store.transactions(of: partition)
                .lastStableOffset(highWatermark: offsets.end)
              : offsets.end
          case ..<0:
            // -3 (max timestamp), -4 (local log start), -5 (tiered): not offered.
            answer.errorCode = KafkaErrorCode.unsupportedVersion.rawValue
          default:
            if let found = try store.firstRecord(in: partition, atOrAfter: p.timestamp) {
              answer.offset = found.offset
              answer.timestamp = found.timestamp
            }
          }
        } catch {
          answer.errorCode = Self.errorCode(error).rawValue
        }
        answers.partitions.append(answer)
      }
      response.topics.append(answers)
    }
    return response
  }

  /// Every partition has had one leader epoch, 0, since its start: its end is the high
  /// watermark (clients validate their position with it after a leader change).
  func offsetForLeaderEpoch(_ request: OffsetForLeaderEpochRequest) async
    -> OffsetForLeaderEpochResponse
  {
    var response = OffsetForLeaderEpochResponse()
    for topic in request.topics {
      var answers = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult(topic: topic.topic)
      for p in topic.partitions {
        var answer = OffsetForLeaderEpochResponse.EpochEndOffset(
          partition: p.partition, leaderEpoch: -1, endOffset: -1)
        if p.currentLeaderEpoch > Self.leaderEpoch {
          answer.errorCode = KafkaErrorCode.unknownLeaderEpoch.rawValue
        } else if let offsets = try? store.log.offsets(
          topic: topic.topic, partition: Int(p.partition))
        {
          if p.leaderEpoch <= Self.leaderEpoch {
            answer.leaderEpoch = Self.leaderEpoch
            answer.endOffset = offsets.end
          }
        } else {
          answer.errorCode = KafkaErrorCode.unknownTopicOrPartition.rawValue
        }
        answers.partitions.append(answer)
      }
      response.topics.append(answers)
    }
    return response
  }
}
