import SluiceKafka
import XCTest

@testable import SluiceKafkaBroker

/// What `sluice_kafka_requests_total` is labelled with: Kafka's name of the API, and the error
/// code a response is counted under (its top-level code, else its first partition's).
final class KafkaRequestMetricsTests: XCTestCase {
  func testAPINamesAreKafkas() {
    XCTAssertEqual(KafkaRequestMetrics.name(of: .produce), "Produce")
    XCTAssertEqual(KafkaRequestMetrics.name(of: .apiVersions), "ApiVersions")
    XCTAssertEqual(KafkaRequestMetrics.name(of: .initProducerId), "InitProducerId")
    XCTAssertEqual(KafkaRequestMetrics.name(of: .offsetForLeaderEpoch), "OffsetForLeaderEpoch")
  }

  func testAProduceResponseCountsUnderItsFirstFailedPartition() {
    typealias Topic = ProduceResponse.TopicProduceResponse
    typealias Partition = ProduceResponse.PartitionProduceResponse
    let ok = ProduceResponse(responses: [
      Topic(name: "a", partitionResponses: [Partition(index: 0), Partition(index: 1)])
    ])
    XCTAssertEqual(ok.firstErrorCode, 0)
    let failed = ProduceResponse(responses: [
      Topic(name: "a", partitionResponses: [Partition(index: 0)]),
      Topic(
        name: "b",
        partitionResponses: [
          Partition(index: 0, errorCode: KafkaErrorCode.messageTooLarge.rawValue),
          Partition(index: 1, errorCode: KafkaErrorCode.unknownTopicOrPartition.rawValue),
        ]),
    ])
    XCTAssertEqual(failed.firstErrorCode, KafkaErrorCode.messageTooLarge.rawValue)
  }

  func testATopLevelErrorCodeComesFirst() {
    let response = OffsetFetchResponse(
      topics: [
        .init(name: "a", partitions: [.init(partitionIndex: 0, errorCode: 3)])
      ], errorCode: KafkaErrorCode.coordinatorNotAvailable.rawValue)
    XCTAssertEqual(response.firstErrorCode, KafkaErrorCode.coordinatorNotAvailable.rawValue)
    XCTAssertEqual(HeartbeatResponse(errorCode: 27).firstErrorCode, 27)
  }
}
