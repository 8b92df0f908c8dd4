import SluiceKafka

/// The error code a response is counted under in `sluice_kafka_requests_total{api,error_code}`:
/// its top-level error code, or else the first non-zero one of its topics or partitions, 0 when
/// everything succeeded. Kafka puts most errors per partition, so "first" is what a dashboard
/// can show without one series per partition.
protocol ResponseErrorCode {
  var firstErrorCode: Int16 { get }
}

extension Sequence {
  /// The first non-zero error code among the elements, 0 when none.
  fileprivate func firstError(_ code: (Element) -> Int16) -> Int16 {
    for element in self {
      let value = code(element)
      if value != 0 { return value }
    }
    return 0
  }
}

/// A top-level code first, then the nested ones.
private func either(_ top: Int16, _ nested: @autoclosure () -> Int16) -> Int16 {
  top != 0 ? top : nested()
}

extension ApiVersionsResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { errorCode }
}
extension AddOffsetsToTxnResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { errorCode }
}
extension DescribeClusterResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { errorCode }
}
extension EndTxnResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { errorCode }
}
extension HeartbeatResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { errorCode }
}
extension InitProducerIdResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { errorCode }
}
extension JoinGroupResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { errorCode }
}
extension SyncGroupResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { errorCode }
}
extension ListGroupsResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { errorCode }
}
extension LeaveGroupResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { either(errorCode, members.firstError(\.errorCode)) }
}
extension FindCoordinatorResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { either(errorCode, coordinators.firstError(\.errorCode)) }
}
extension OffsetFetchResponse: ResponseErrorCode {
  var firstErrorCode: Int16 {
    either(
      errorCode,
      either(
        topics.firstError { $0.partitions.firstError(\.errorCode) },
        groups.firstError {
          either($0.errorCode, $0.topics.firstError { $0.partitions.firstError(\.errorCode) })
        }))
  }
}
extension CreateTopicsResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { topics.firstError(\.errorCode) }
}
extension DeleteTopicsResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { responses.firstError(\.errorCode) }
}
extension DescribeConfigsResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { results.firstError(\.errorCode) }
}
extension DescribeGroupsResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { groups.firstError(\.errorCode) }
}
extension MetadataResponse: ResponseErrorCode {
  var firstErrorCode: Int16 {
    topics.firstError { either($0.errorCode, $0.partitions.firstError(\.errorCode)) }
  }
}
extension ListOffsetsResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { topics.firstError { $0.partitions.firstError(\.errorCode) } }
}
extension OffsetCommitResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { topics.firstError { $0.partitions.firstError(\.errorCode) } }
}
extension OffsetForLeaderEpochResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { topics.firstError { $0.partitions.firstError(\.errorCode) } }
}
extension TxnOffsetCommitResponse: ResponseErrorCode {
  var firstErrorCode: Int16 { topics.firstError { $0.partitions.firstError(\.errorCode) } }
}
extension ProduceResponse: ResponseErrorCode {
  var firstErrorCode: Int16 {
    responses.firstError { $0.partitionResponses.firstError(\.errorCode) }
  }
}
extension AddPartitionsToTxnResponse: ResponseErrorCode {
  var firstErrorCode: Int16 {
    resultsByTopicV3AndBelow.firstError { $0.resultsByPartition.firstError(\.partitionErrorCode) }
  }
}
