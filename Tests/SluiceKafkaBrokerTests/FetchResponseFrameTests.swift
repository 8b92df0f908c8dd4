import NIOCore
import SluiceKafka
import XCTest

@testable import SluiceKafkaBroker

/// The Fetch response the broker writes in parts (fields, then each partition's stored batches
/// as read) is byte for byte the frame the generated codec writes for the same response.
final class FetchResponseFrameTests: XCTestCase {
  private func partition(
    _ index: Int32, error: KafkaErrorCode = .none, records: [UInt8]
  ) -> FetchResponse.PartitionData {
    var answer = FetchResponse.PartitionData(
      partitionIndex: index, errorCode: error.rawValue, highWatermark: error == .none ? 1234 : -1,
      lastStableOffset: 1234, logStartOffset: 17,
      currentLeader: .init(leaderId: 0, leaderEpoch: 0), records: records)
    if error != .none { answer.lastStableOffset = -1 }
    return answer
  }

  func testTheFrameInPartsIsTheCodecsFrameAtEveryVersion() {
    let big = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let response = FetchResponse(
      sessionId: 0,
      responses: [
        .init(
          topic: "orders",
          partitions: [
            partition(0, records: [1, 2, 3, 4, 5]), partition(1, records: []),
            partition(2, error: .offsetOutOfRange, records: []), partition(3, records: big),
          ]),
        .init(topic: "", partitions: []),
        .init(topic: "ü-topic", partitions: [partition(9, records: Array(big.prefix(200)))]),
      ])
    for version in Int16(4)...12 {
      let expected = ResponseFrame.encode(response, version: version, correlationId: 77)
      var frame = FetchResponseFrame(
        correlationId: 77, version: version, topicCount: response.responses.count)
      for topic in response.responses {
        frame.startTopic(topic.topic, partitionCount: topic.partitions.count)
        for p in topic.partitions {
          // A record set whose buffer has bytes before its readable part, as a read from an
          // index entry would.
          var records = ByteBuffer(bytes: [9, 9] + (p.records ?? []))
          records.moveReaderIndex(forwardBy: 2)
          frame.addPartition(p, records: records)
        }
        frame.endTopic()
      }
      let parts = frame.finish()
      XCTAssertEqual(parts.flatMap { Array($0.readableBytesView) }, expected, "version \(version)")
    }
  }
}
