import SluiceKafka

/// A request body whose response type is known, so a connection can decode the answer.
public protocol KafkaRequest: KafkaRequestMessage {
  /// The body the broker answers with.
  associatedtype Response: KafkaResponseMessage
}

extension ApiVersionsRequest: KafkaRequest { public typealias Response = ApiVersionsResponse }
extension MetadataRequest: KafkaRequest { public typealias Response = MetadataResponse }
// Produce is always sent with acks -1 (idempotence needs it), so it always has an answer.
extension ProduceRequest: KafkaRequest { public typealias Response = ProduceResponse }
extension FetchRequest: KafkaRequest { public typealias Response = FetchResponse }
extension ListOffsetsRequest: KafkaRequest { public typealias Response = ListOffsetsResponse }
extension CreateTopicsRequest: KafkaRequest { public typealias Response = CreateTopicsResponse }
extension DeleteTopicsRequest: KafkaRequest { public typealias Response = DeleteTopicsResponse }
extension DescribeConfigsRequest: KafkaRequest {
  public typealias Response = DescribeConfigsResponse
}
extension FindCoordinatorRequest: KafkaRequest {
  public typealias Response = FindCoordinatorResponse
}
extension InitProducerIdRequest: KafkaRequest { public typealias Response = InitProducerIdResponse }
extension JoinGroupRequest: KafkaRequest { public typealias Response = JoinGroupResponse }
extension SyncGroupRequest: KafkaRequest { public typealias Response = SyncGroupResponse }
extension HeartbeatRequest: KafkaRequest { public typealias Response = HeartbeatResponse }
extension LeaveGroupRequest: KafkaRequest { public typealias Response = LeaveGroupResponse }
extension OffsetCommitRequest: KafkaRequest { public typealias Response = OffsetCommitResponse }
extension OffsetFetchRequest: KafkaRequest { public typealias Response = OffsetFetchResponse }
extension AddPartitionsToTxnRequest: KafkaRequest {
  public typealias Response = AddPartitionsToTxnResponse
}
extension AddOffsetsToTxnRequest: KafkaRequest {
  public typealias Response = AddOffsetsToTxnResponse
}
extension EndTxnRequest: KafkaRequest { public typealias Response = EndTxnResponse }
extension TxnOffsetCommitRequest: KafkaRequest {
  public typealias Response = TxnOffsetCommitResponse
}
extension SaslHandshakeRequest: KafkaRequest { public typealias Response = SaslHandshakeResponse }
extension SaslAuthenticateRequest: KafkaRequest {
  public typealias Response = SaslAuthenticateResponse
}
