import SluiceCore
import SluiceKafka

/// Fetch, ListOffsets and OffsetForLeaderEpoch: stored batches served as they lie, long polls
/// woken by appends.
extension KafkaBroker {
  func fetch(_ request: FetchRequest) async -> FetchResponse {
    let deadline = ContinuousClock.now + .milliseconds(max(0, Int64(request.maxWaitMs)))
    while true {
      let version = store.appendVersion
      let (response, bytes, failed) = readFetch(request)
      if failed || bytes >= max(1, Int(request.minBytes)) || ContinuousClock.now >= deadline {
        return response
      }
      _ = await store.waitForAppends(after: version, timeout: deadline - ContinuousClock.now)
      if ContinuousClock.now >= deadline {
        return readFetch(request).response
      }
    }
  }

  /// One pass over the requested partitions: the response, its record bytes, and whether any
  /// partition answered with an error (which is sent at once, as Kafka does).
  private func readFetch(_ request: FetchRequest) -> (
    response: FetchResponse, bytes: Int, failed: Bool
  ) {
    // No fetch sessions (KIP-227): session 0 makes every client send full fetches.
    var response = FetchResponse(sessionId: 0)
    var total = 0
    var failed = false
    let limit = request.maxBytes > 0 ? Int(request.maxBytes) : Int(Int32.max)
    for topic in request.topics {
      var answers = FetchResponse.FetchableTopicResponse(topic: topic.topic)
      for p in topic.partitions {
        let partition = TopicPartition(topic.topic, Int(p.partition))
        var answer = FetchResponse.PartitionData(
          partitionIndex: p.partition,
          currentLeader: .init(leaderId: Self.nodeID, leaderEpoch: Self.leaderEpoch), records: [])
        do {
          let offsets = try store.log.offsets(
            topic: partition.topic, partition: partition.partition)
          answer.highWatermark = offsets.end
          // No transactions yet: everything below the high watermark is stable.
          answer.lastStableOffset = offsets.end
          answer.logStartOffset = offsets.start
          // The first batch of a fetch is sent whole even past the limits (KIP-74), so that
          // one large batch cannot stall its consumer; after that the limits hold.
          let room = min(Int(max(0, p.partitionMaxBytes)), limit - total)
          if room > 0 || total == 0 {
            let batches = try store.readBatches(
              from: partition, offset: p.fetchOffset, maxBytes: max(room, 1))
            total += batches.count
            answer.records = batches
          }
        } catch {
          answer.errorCode = Self.errorCode(error).rawValue
          answer.highWatermark = -1
          failed = true
        }
        answers.partitions.append(answer)
      }
      response.responses.append(answers)
    }
    return (response, total, failed)
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
          case -1: answer.offset = offsets.end  // latest
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
