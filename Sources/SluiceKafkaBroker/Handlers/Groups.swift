import Foundation
import SluiceCore
import SluiceKafka

/// The classic consumer group protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
/// OffsetCommit, OffsetFetch, DescribeGroups and ListGroups, answered by ``GroupCoordinator``.
extension KafkaBroker {
  func joinGroup(_ request: JoinGroupRequest, version: Int16, client: RequestContext) async
    -> JoinGroupResponse
  {
    guard !request.groupId.isEmpty else {
      return JoinGroupResponse(
        errorCode: KafkaErrorCode.invalidGroupID.rawValue, memberId: request.memberId)
    }
    guard (1_000...3_600_000).contains(request.sessionTimeoutMs) else {
      return JoinGroupResponse(
        errorCode: KafkaErrorCode.invalidSessionTimeout.rawValue, memberId: request.memberId)
    }
    // v0 has no rebalance timeout: the session timeout stands in, as in Kafka.
    let rebalance = version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs
    let answer = await groups.join(
      group: request.groupId, memberID: request.memberId, instanceID: request.groupInstanceId,
      clientID: client.clientID, clientHost: client.clientHost, protocolType: request.protocolType,
      protocols: request.protocols.map { .init(name: $0.name, metadata: $0.metadata) },
      sessionTimeout: .milliseconds(Int64(request.sessionTimeoutMs)),
      rebalanceTimeout: .milliseconds(Int64(max(rebalance, request.sessionTimeoutMs))))
    return JoinGroupResponse(
      errorCode: answer.error.rawValue, generationId: answer.generation,
      protocolType: request.protocolType, protocolName: answer.protocolName, leader: answer.leader,
      memberId: answer.memberID,
      members: answer.members.map {
        .init(memberId: $0.id, groupInstanceId: $0.instanceID, metadata: $0.metadata)
      })
  }

  func syncGroup(_ request: SyncGroupRequest) async -> SyncGroupResponse {
    var assignments: [String: [UInt8]] = [:]
    for a in request.assignments { assignments[a.memberId] = a.assignment }
    let (error, assignment) = await groups.sync(
      group: request.groupId, memberID: request.memberId, generation: request.generationId,
      assignments: assignments)
    return SyncGroupResponse(
      errorCode: error.rawValue, protocolType: request.protocolType,
      protocolName: request.protocolName, assignment: assignment)
  }

  func heartbeat(_ request: HeartbeatRequest) async -> HeartbeatResponse {
    let error = await groups.heartbeat(
      group: request.groupId, memberID: request.memberId, generation: request.generationId)
    return HeartbeatResponse(errorCode: error.rawValue)
  }

  func leaveGroup(_ request: LeaveGroupRequest, version: Int16) async -> LeaveGroupResponse {
    // v3 batches members; earlier versions name one.
    let ids = version >= 3 ? request.members.map(\.memberId) : [request.memberId]
    let unknown = Set(await groups.leave(group: request.groupId, memberIDs: ids))
    if version < 3 {
      return LeaveGroupResponse(
        errorCode: (unknown.isEmpty ? KafkaErrorCode.none : .unknownMemberID).rawValue)
    }
    return LeaveGroupResponse(
      members: request.members.map {
        .init(
          memberId: $0.memberId, groupInstanceId: $0.groupInstanceId,
          errorCode: (unknown.contains($0.memberId) ? KafkaErrorCode.unknownMemberID : .none)
            .rawValue)
      })
  }

  func offsetCommit(_ request: OffsetCommitRequest) async -> OffsetCommitResponse {
    var committed: [TopicPartition: GroupOffsetStore.Committed] = [:]
    let now = currentTimeMillis()
    for topic in request.topics {
      for p in topic.partitions {
        committed[TopicPartition(topic.name, Int(p.partitionIndex))] = .init(
          offset: p.committedOffset, metadata: p.committedMetadata,
          leaderEpoch: p.committedLeaderEpoch, commitTimestamp: now)
      }
    }
    let error: KafkaErrorCode =
      request.groupId.isEmpty
      ? .invalidGroupID
      : committed.values.contains(where: { ($0.metadata?.utf8.count ?? 0) > 4096 })
        ? .offsetMetadataTooLarge
        : await groups.commit(
          group: request.groupId, memberID: request.memberId,
          generation: request.generationIdOrMemberEpoch, offsets: committed)
    return OffsetCommitResponse(
      topics: request.topics.map { topic in
        .init(
          name: topic.name,
          partitions: topic.partitions.map {
            .init(partitionIndex: $0.partitionIndex, errorCode: error.rawValue)
          })
      })
  }

  func offsetFetch(_ request: OffsetFetchRequest, version: Int16) async -> OffsetFetchResponse {
    // v8 batches groups; earlier versions ask for one.
    if version >= 8 {
      var response = OffsetFetchResponse()
      for group in request.groups {
        let topics = await committed(
          group: group.groupId,
          wanted: group.topics.map { $0.map { ($0.name, $0.partitionIndexes) } },
          requireStable: request.requireStable)
        response.groups.append(
          .init(
            groupId: group.groupId,
            topics: topics.map { topic in
              .init(
                name: topic.name,
                partitions: topic.partitions.map {
                  .init(
                    partitionIndex: $0.partitionIndex, committedOffset: $0.committedOffset,
                    committedLeaderEpoch: $0.committedLeaderEpoch, metadata: $0.metadata,
                    errorCode: $0.errorCode)
                })
            }))
      }
      return response
    }
    return OffsetFetchResponse(
      topics: await committed(
        group: request.groupId,
        wanted: request.topics.map { $0.map { ($0.name, $0.partitionIndexes) } },
        requireStable: request.requireStable))
  }

  /// The committed offsets of `group` for `wanted` partitions (all of them when nil); -1
  /// where none is committed. With `requireStable` (KIP-447, read_committed consumers), a
  /// partition with an offset pending in a transaction answers UNSTABLE_OFFSET_COMMIT, and the
  /// client asks again.
  private func committed(group: String, wanted: [(String, [Int32])]?, requireStable: Bool)
    async -> [OffsetFetchResponse.OffsetFetchResponseTopic]
  {
    let stored = await groups.committedOffsets(group: group)
    let unstable = requireStable ? await transactions.pendingOffsets(group: group) : []
    let asked =
      wanted
      ?? Dictionary(grouping: stored.keys, by: \.topic).sorted { $0.key < $1.key }.map {
        ($0.key, $0.value.map { Int32($0.partition) }.sorted())
      }
    return asked.map { name, partitions in
      .init(
        name: name,
        partitions: partitions.map { p in
          let partition = TopicPartition(name, Int(p))
          if unstable.contains(partition) {
            return .init(
              partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: "",
              errorCode: KafkaErrorCode.unstableOffsetCommit.rawValue)
          }
          let found = stored[partition]
          return .init(
            partitionIndex: p, committedOffset: found?.offset ?? -1,
            committedLeaderEpoch: found?.leaderEpoch ?? -1, metadata: found?.metadata ?? "")
        })
    }
  }

  func describeGroups(_ request: DescribeGroupsRequest) async -> DescribeGroupsResponse {
    var response = DescribeGroupsResponse()
    for id in request.groups {
      let group = await groups.summary(id)
      response.groups.append(
        .init(
          groupId: id, groupState: group.state, protocolType: group.protocolType,
          protocolData: group.protocolName,
          members: group.members.map {
            .init(
              memberId: $0.memberID, groupInstanceId: $0.instanceID, clientId: $0.clientID,
              clientHost: $0.clientHost, memberMetadata: $0.metadata,
              memberAssignment: $0.assignment)
          }))
    }
    return response
  }

  func listGroups(_ request: ListGroupsRequest) async -> ListGroupsResponse {
    let wanted = Set(request.statesFilter.map { $0.lowercased() })
    return ListGroupsResponse(
      groups: await groups.summaries().filter {
        $0.state != "Dead" && (wanted.isEmpty || wanted.contains($0.state.lowercased()))
      }.map {
        .init(groupId: $0.groupID, protocolType: $0.protocolType, groupState: $0.state)
      })
  }
}

/// Who sent a request, for group members' descriptions.
struct RequestContext: Sendable {
  var clientID: String
  var clientHost: String
}
