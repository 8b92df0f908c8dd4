import SluiceCompression
import SluiceKafka
import XCTest

@testable import SluiceKafkaStore

final class RecordBatchTests: XCTestCase {
  let records = [
    KafkaRecord(
      key: Array("k1".utf8), value: Array("v1".utf8),
      headers: [.init(name: "h", value: [1, 2]), .init(name: "n", value: nil)], timestamp: 1_000),
    KafkaRecord(key: nil, value: nil, timestamp: 1_005),
    KafkaRecord(key: Array("k3".utf8), value: Array(repeating: 7, count: 300), timestamp: 999),
  ]

  func testEveryCodecRoundTripsRecordsAndProducerFields() throws {
    for codec in RecordBatchCompression.allCases {
      var bytes = try RecordBatchEncoder(
        producerId: 42, producerEpoch: 3, baseSequence: 17, isTransactional: true,
        compression: codec
      ).encode(records)
      // The broker writes the base offset in.
      bytes.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 100])
      let batches = try RecordBatchDecoder.decode(bytes + bytes.prefix(30))
      XCTAssertEqual(batches.count, 1, "a trailing partial batch is left out")
      let batch = try XCTUnwrap(batches.first)
      XCTAssertEqual(batch.producerId, 42)
      XCTAssertEqual(batch.producerEpoch, 3)
      XCTAssertTrue(batch.isTransactional)
      XCTAssertFalse(batch.isControl)
      XCTAssertEqual(batch.lastOffset, 102)
      XCTAssertEqual(batch.records.map(\.offset), [100, 101, 102])
      XCTAssertEqual(batch.records.map(\.record), records, "\(codec)")
    }
  }

  func testABadCRCIsAnError() throws {
    var bytes = try RecordBatchEncoder().encode(records)
    bytes[bytes.count - 1] ^= 0xff
    XCTAssertThrowsError(try RecordBatchDecoder.decode(bytes))
  }

  func testReadCommittedDropsAbortedTransactionsAndMarkers() {
    func batch(_ base: Int64, _ count: Int, producer: Int64, transactional: Bool = true)
      -> DecodedBatch
    {
      DecodedBatch(
        baseOffset: base, lastOffset: base + Int64(count) - 1, producerId: producer,
        producerEpoch: 0, isTransactional: transactional, isControl: false, controlCommits: nil,
        records: (0..<count).map {
          FetchedRecord(
            offset: base + Int64($0), record: KafkaRecord(value: [UInt8($0)], timestamp: 0))
        })
    }
    func marker(_ offset: Int64, producer: Int64, commit: Bool) -> DecodedBatch {
      DecodedBatch(
        baseOffset: offset, lastOffset: offset, producerId: producer, producerEpoch: 0,
        isTransactional: true, isControl: true, controlCommits: commit, records: [])
    }
    let batches = [
      batch(0, 2, producer: 1),  // committed at 4
      batch(2, 2, producer: 2),  // aborted at 5
      marker(4, producer: 1, commit: true),
      marker(5, producer: 2, commit: false),
      batch(6, 1, producer: 3, transactional: false),
      batch(7, 1, producer: 2),  // producer 2's next transaction, committed at 8
      marker(8, producer: 2, commit: true),
      batch(9, 1, producer: 4),  // open: at the LSO
    ]
    let kept = ReadCommittedFilter.records(
      batches, aborted: [.init(producerId: 2, firstOffset: 2)], lastStableOffset: 9)
    XCTAssertEqual(kept.map(\.offset), [0, 1, 6, 7])
    XCTAssertEqual(
      ReadCommittedFilter.allRecords(batches).map(\.offset), [0, 1, 2, 3, 6, 7, 9])
    // Without the aborted list (Tansu 0.6 sends none), the ABORT marker still drops 2-3.
    XCTAssertEqual(
      ReadCommittedFilter.records(batches, aborted: [], lastStableOffset: 9).map(\.offset),
      [0, 1, 6, 7])
    // Batch 9 (producer 4) has no marker in the response: the reader stops before it.
    XCTAssertEqual(ReadCommittedFilter.undecidedTransactionStart(batches, aborted: []), 9)
    XCTAssertNil(ReadCommittedFilter.undecidedTransactionStart(Array(batches[0..<7]), aborted: []))
  }
}

final class ApiVersionsNegotiationTests: XCTestCase {
  func testAnOlderBrokerLeadsToItsApiVersionsMaximumThenItsRanges() {
    var negotiation = ApiVersionsNegotiation(version: 4)
    let refusal = ApiVersionsResponse(
      errorCode: KafkaErrorCode.unsupportedVersion.rawValue,
      apiKeys: [.init(apiKey: 18, minVersion: 0, maxVersion: 2)]
    ).bytes(version: 0)
    XCTAssertEqual(negotiation.received(refusal), .retry(version: 2))
    let answer = ApiVersionsResponse(
      errorCode: 0,
      apiKeys: [
        .init(apiKey: 18, minVersion: 0, maxVersion: 2),
        .init(apiKey: 0, minVersion: 0, maxVersion: 7),
        .init(apiKey: 1, minVersion: 0, maxVersion: 11),
      ]
    ).bytes(version: 2)
    guard case .done(let ranges) = negotiation.received(answer) else {
      return XCTFail("expected the ranges")
    }
    XCTAssertEqual(ApiVersionsNegotiation.version(for: .produce, broker: ranges), 7)
    XCTAssertEqual(ApiVersionsNegotiation.version(for: .fetch, broker: ranges), 11)
    XCTAssertEqual(ApiVersionsNegotiation.version(for: .fetch, broker: ranges, cap: 4), 4)
    XCTAssertNil(ApiVersionsNegotiation.version(for: .endTxn, broker: ranges))
  }

  func testARefusalWithoutAKeyListFallsBackToV0() {
    var negotiation = ApiVersionsNegotiation(version: 3)
    XCTAssertEqual(negotiation.received([0, 35]), .retry(version: 0))
  }

  func testRangesThatDoNotMeetGiveNoVersion() {
    XCTAssertNil(ApiVersionsNegotiation.version(for: .produce, broker: [0: 0...2]))
  }
}
