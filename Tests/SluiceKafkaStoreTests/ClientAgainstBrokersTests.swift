import Foundation
import SluiceKafka
import SluiceTestBrokers
import XCTest

@testable import SluiceKafkaStore

/// The client against real brokers: Tansu and Sluice's own Kafka listener.
final class ClientAgainstBrokersTests: XCTestCase {
  /// Runs `body` against a fresh Tansu and a fresh Sluice worker in turn.
  private func withEachBroker(
    _ body: (BrokerProcess, KafkaClient) async throws -> Void
  ) async throws {
    for kind in [BrokerProcess.Kind.tansu, .sluice] {
      let broker = try BrokerProcess(kind)
      try broker.start()
      let client = testClient(broker)
      do {
        try await body(broker, client)
      } catch {
        XCTFail("\(kind): \(error)\n\(broker.log().suffix(3000))")
      }
      await client.close()
      broker.stop()
    }
  }

  func testBootstrapMetadataAndCreateTopics() async throws {
    try await withEachBroker { broker, client in
      try await client.createTopics([
        NewTopic(name: "orders", partitions: 3, replicationFactor: 1),
        NewTopic(
          name: "sluice-offsets", partitions: 1, replicationFactor: 1,
          configs: ["cleanup.policy": "compact"]),
      ])
      // Creating again is fine with ifNotExists.
      try await client.createTopics([NewTopic(name: "orders", partitions: 3)])
      let metadata = try await client.metadata(topics: ["orders", "sluice-offsets"], refresh: true)
      XCTAssertEqual(metadata.partitionCount(of: "orders"), 3, "\(broker.kind)")
      XCTAssertEqual(metadata.partitionCount(of: "sluice-offsets"), 1, "\(broker.kind)")
      XCTAssertFalse(metadata.brokers.isEmpty)
      for index in Int32(0)..<3 {
        XCTAssertNotNil(metadata.leader(of: KafkaTopicPartition("orders", index)))
      }
      let partitions = (Int32(0)..<3).map { KafkaTopicPartition("orders", $0) }
      let earliest = try await client.listOffsets(partitions, at: .earliest)
      let latest = try await client.listOffsets(partitions, at: .latest)
      XCTAssertEqual(earliest.values.sorted(), [0, 0, 0], "\(broker.kind)")
      XCTAssertEqual(latest.values.sorted(), [0, 0, 0], "\(broker.kind)")
      let version = try await client.anyConnection().version(for: .fetch)
      XCTAssertGreaterThanOrEqual(version, 4)
    }
  }

  func testIdempotentProduceIsReadBackExactly() async throws {
    try await withEachBroker { broker, client in
      try await client.createTopics([NewTopic(name: "events", partitions: 2)])
      let producer = KafkaProducer(client: client)
      try await producer.initialize()
      let (id, _) = await producer.producerIdAndEpoch
      XCTAssertGreaterThanOrEqual(id, 0, "\(broker.kind)")
      let partition = KafkaTopicPartition("events", 1)
      let first = (0..<5).map {
        KafkaRecord(
          key: Array("k\($0)".utf8), value: Array("value \($0)".utf8),
          headers: [.init(name: "n", value: [UInt8($0)]), .init(name: "null", value: nil)],
          timestamp: 1_700_000_000_000 + Int64($0))
      }
      let second = [
        KafkaRecord(key: nil, value: Array("keyless".utf8), timestamp: 1_700_000_000_100),
        KafkaRecord(key: Array("tombstone".utf8), value: nil, timestamp: 1_700_000_000_101),
      ]
      let offset1 = try await producer.send(first, to: partition)
      let offset2 = try await producer.send(second, to: partition)
      XCTAssertEqual(offset1, 0, "\(broker.kind)")
      XCTAssertEqual(offset2, 5, "\(broker.kind)")
      let read = try await readRecords(client, partition, count: 7)
      XCTAssertEqual(read.map(\.offset), Array(0..<7), "\(broker.kind)")
      XCTAssertEqual(read.map(\.record), first + second, "\(broker.kind)")
      let latest = try await client.listOffsets([partition], at: .latest)
      if broker.kind == .sluice {
        XCTAssertEqual(latest[partition], 7)
      } else {
        // Tansu 0.6 answers ListOffsets latest with the last offset, not the next one.
        XCTAssertEqual(latest[partition], 6)
      }
      // Reading from the middle of a batch starts at the offset asked for.
      let tail = try await readRecords(client, partition, from: 3, count: 4)
      XCTAssertEqual(tail.map(\.offset), [3, 4, 5, 6], "\(broker.kind)")
    }
  }

  func testCompressedBatchesAreReadBack() async throws {
    try await withEachBroker { broker, client in
      try await client.createTopics([NewTopic(name: "zipped", partitions: 1)])
      let producer = KafkaProducer(client: client, compression: .zstd)
      try await producer.initialize()
      let partition = KafkaTopicPartition("zipped", 0)
      let records = (0..<50).map {
        KafkaRecord(key: Array("k\($0)".utf8), value: Array(repeating: UInt8($0), count: 200))
      }
      try await producer.send(records, to: partition)
      let read = try await readRecords(client, partition, count: 50)
      XCTAssertEqual(read.map(\.record), records, "\(broker.kind)")
    }
  }

  func testOffsetOutOfRangeIsSurfaced() async throws {
    try await withEachBroker { broker, client in
      try await client.createTopics([NewTopic(name: "short", partitions: 1)])
      let fetcher = KafkaFetcher(client: client, maxWait: .milliseconds(100))
      if broker.kind == .tansu {
        // Tansu 0.6 answers a fetch past the end with no records and no error.
        let result = try await fetcher.fetch([KafkaTopicPartition("short", 0): 1000])
        XCTAssertEqual(result[KafkaTopicPartition("short", 0)]?.records, [])
        return
      }
      do {
        _ = try await fetcher.fetch([KafkaTopicPartition("short", 0): 1000])
        XCTFail("\(broker.kind): fetching past the end must fail")
      } catch let error as KafkaClientError {
        XCTAssertEqual(error.kind, .offsetOutOfRange, "\(broker.kind): \(error)")
      }
    }
  }
}
