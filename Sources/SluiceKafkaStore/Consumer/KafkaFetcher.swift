import SluiceKafka

/// What one fetch returned for one partition.
public struct PartitionFetch: Sendable, Equatable {
  /// The records, in offset order (committed ones only under read_committed).
  public var records: [FetchedRecord]
  /// The offset to fetch next: past every batch returned, also the skipped ones (markers,
  /// aborted transactions), or the offset asked for when nothing came.
  public var nextOffset: Int64
  /// The partition's high watermark.
  public var highWatermark: Int64
  /// The last stable offset (the high watermark when no transaction is open).
  public var lastStableOffset: Int64
  /// The first offset still in the log.
  public var logStartOffset: Int64
}

/// Reads partitions with Fetch (v4 and up, as negotiated): one request per leader, each a long
/// poll of at most ``maxWait``, records decoded (decompressed too) and, under read_committed,
/// filtered by ``ReadCommittedFilter``. A partition whose leader moved comes back empty (and the
/// metadata is refreshed); OFFSET_OUT_OF_RANGE is thrown as
/// ``KafkaClientError/Kind/offsetOutOfRange``.
public struct KafkaFetcher: Sendable {
  /// The cluster client.
  public var client: KafkaClient
  /// Which records are seen.
  public var isolation: IsolationLevel
  /// How long a broker may hold the request for ``minBytes`` to arrive.
  public var maxWait: Duration
  /// The bytes a broker waits for before answering early.
  public var minBytes: Int32
  /// The most bytes of one answer.
  public var maxBytes: Int32
  /// The most bytes of one partition in one answer.
  public var partitionMaxBytes: Int32

  /// A fetcher on `client`.
  public init(
    client: KafkaClient, isolation: IsolationLevel = .readCommitted,
    maxWait: Duration = .milliseconds(500), minBytes: Int32 = 1, maxBytes: Int32 = 52_428_800,
    partitionMaxBytes: Int32 = 1_048_576
  ) {
    self.client = client
    self.isolation = isolation
    self.maxWait = maxWait
    self.minBytes = minBytes
    self.maxBytes = maxBytes
    self.partitionMaxBytes = partitionMaxBytes
  }

  /// Fetches each partition from its offset in `positions`.
  public func fetch(_ positions: [KafkaTopicPartition: Int64]) async throws -> [KafkaTopicPartition:
    PartitionFetch]
  {
    var byLeader: [Int32: [KafkaTopicPartition: Int64]] = [:]
    var result: [KafkaTopicPartition: PartitionFetch] = [:]
    for (partition, offset) in positions {
      do {
        byLeader[try await client.leader(of: partition), default: [:]][partition] = offset
      } catch let error as KafkaClientError where error.isRetriable {
        // No leader yet: nothing this round.
        result[partition] = PartitionFetch(
          records: [], nextOffset: offset, highWatermark: -1, lastStableOffset: -1,
          logStartOffset: -1)
      }
    }
    let leaders = byLeader
    try await withThrowingTaskGroup(of: [KafkaTopicPartition: PartitionFetch].self) { group in
      for (leader, positions) in leaders {
        group.addTask { try await self.fetch(positions, from: leader) }
      }
      for try await part in group { result.merge(part) { _, new in new } }
    }
    return result
  }

  private func fetch(_ positions: [KafkaTopicPartition: Int64], from leader: Int32) async throws
    -> [KafkaTopicPartition: PartitionFetch]
  {
    let byTopic = Dictionary(grouping: positions.keys, by: \.topic)
    let request = FetchRequest(
      replicaId: -1, maxWaitMs: maxWait.milliseconds, minBytes: minBytes, maxBytes: maxBytes,
      isolationLevel: isolation.rawValue, sessionId: 0, sessionEpoch: -1,
      topics: byTopic.keys.sorted().map { topic in
        .init(
          topic: topic,
          partitions: byTopic[topic]!.sorted().map {
            .init(
              partition: $0.partition, currentLeaderEpoch: -1, fetchOffset: positions[$0]!,
              lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: partitionMaxBytes)
          })
      }, forgottenTopicsData: [], rackId: "")
    let response: FetchResponse
    do {
      let connection = try await client.connection(node: leader)
      response = try await connection.send(request, extraTimeout: maxWait)
      if response.errorCode != 0 {
        // A whole-request error (Fetch v7+): a broker that is no longer the leader of any of
        // them may say so here as well as per partition (librdkafka's mock does).
        throw KafkaClientError.server(
          response.errorCode, "Fetch", broker: connection.address.description)
      }
    } catch let error as KafkaClientError where error.isRetriable {
      await client.invalidateMetadata()
      return positions.mapValues {
        PartitionFetch(
          records: [], nextOffset: $0, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1)
      }
    }
    var result: [KafkaTopicPartition: PartitionFetch] = [:]
    for topic in response.responses {
      for data in topic.partitions {
        let partition = KafkaTopicPartition(topic.topic, data.partitionIndex)
        guard let offset = positions[partition] else { continue }
        if data.errorCode != 0 {
          let error = KafkaClientError.server(data.errorCode, "Fetch \(partition) at \(offset)")
          if error.isRetriable {
            await client.invalidateMetadata()
            result[partition] = PartitionFetch(
              records: [], nextOffset: offset, highWatermark: data.highWatermark,
              lastStableOffset: data.lastStableOffset, logStartOffset: data.logStartOffset)
            continue
          }
          throw error
        }
        var batches = try RecordBatchDecoder.decode(data.records ?? [])
        var records: [FetchedRecord]
        if isolation == .readCommitted {
          let aborted = (data.abortedTransactions ?? []).map {
            ReadCommittedFilter.AbortedTransaction(
              producerId: $0.producerId, firstOffset: $0.firstOffset)
          }
          if let hold = ReadCommittedFilter.undecidedTransactionStart(batches, aborted: aborted) {
            batches.removeAll { $0.baseOffset >= hold }
          }
          records = ReadCommittedFilter.records(
            batches, aborted: aborted, lastStableOffset: data.lastStableOffset)
        } else {
          records = ReadCommittedFilter.allRecords(batches)
        }
        // A batch may start before the offset asked for (the broker sends whole batches).
        records.removeAll { $0.offset < offset }
        var next = offset
        for batch in batches where batch.lastOffset + 1 > next {
          if isolation == .readCommitted && data.lastStableOffset >= 0
            && batch.baseOffset >= data.lastStableOffset
          {
            break
          }
          next = batch.lastOffset + 1
        }
        result[partition] = PartitionFetch(
          records: records, nextOffset: next, highWatermark: data.highWatermark,
          lastStableOffset: data.lastStableOffset, logStartOffset: data.logStartOffset)
      }
    }
    return result
  }
}
