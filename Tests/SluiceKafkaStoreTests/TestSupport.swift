import Foundation
import SluiceTestBrokers

@testable import SluiceKafkaStore

extension BrokerProcess {
  /// The broker as a bootstrap address.
  var bootstrap: BrokerAddress { BrokerAddress(host: "127.0.0.1", port: port) }
}

/// A client for `broker` with short retries, as tests want them.
func testClient(_ broker: BrokerProcess, retryTimeout: Duration = .seconds(20)) -> KafkaClient {
  KafkaClient(
    configuration: KafkaClientConfiguration(
      bootstrap: [broker.bootstrap], clientId: "sluice-test", requestTimeout: .seconds(10),
      retryBackoff: .milliseconds(50), retryBackoffMax: .milliseconds(500),
      retryTimeout: retryTimeout))
}

/// Reads `partition` from `offset` until `count` records came or `timeout` passed.
func readRecords(
  _ client: KafkaClient, _ partition: KafkaTopicPartition, from offset: Int64 = 0, count: Int,
  isolation: IsolationLevel = .readCommitted, timeout: Duration = .seconds(10)
) async throws -> [FetchedRecord] {
  let fetcher = KafkaFetcher(client: client, isolation: isolation, maxWait: .milliseconds(200))
  var position = offset
  var records: [FetchedRecord] = []
  let deadline = ContinuousClock.now + timeout
  while records.count < count && ContinuousClock.now < deadline {
    let result = try await fetcher.fetch([partition: position])
    guard let fetched = result[partition] else { continue }
    records += fetched.records
    position = fetched.nextOffset
  }
  return records
}
