import Foundation
import XCTest

/// Transactions on the Kafka listener with a real transactional producer (confluent-kafka,
/// librdkafka 2.16): commit and abort seen as read_committed and read_uncommitted consumers see
/// them, fencing by transactional id, offsets committed with a transaction, a transaction past
/// its timeout, and a transaction left open by a `kill -9` of the worker.
final class KafkaTransactionTests: KafkaWorkerTestCase {
  private func transactions(_ bootstrap: String, _ scenario: String, _ more: [String] = [])
    throws -> [String: Any]
  {
    try kafkaTool("transactions", ["--bootstrap", bootstrap, "--scenario", scenario] + more)
  }

  func testCommittedAndAbortedTransactionsFencingAndOffsetsWithTheTransaction() throws {
    let (worker, bootstrap) = try startKafkaWorker()
    try transactions(bootstrap, "commit-abort", ["--topic", "ca", "--txid", "tx-ca"])
    try transactions(bootstrap, "fence", ["--topic", "fence", "--txid", "tx-fence"])
    try transactions(bootstrap, "offsets", ["--topic", "offs", "--txid", "tx-offs"])
    // Sluice's own reader reads committed: no markers, nothing of the aborted transaction.
    let records = try worker.records("ca").compactMap { $0["value"] as? String }
    XCTAssertEqual(records.count, 15, "\(records)")
    XCTAssertFalse(records.contains { $0.hasPrefix("aborted") })
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testATransactionPastItsTimeoutIsAborted() throws {
    let (worker, bootstrap) = try startKafkaWorker()
    defer { _ = worker.terminate() }
    try transactions(
      bootstrap, "open", ["--topic", "late", "--txid", "tx-late", "--timeout-ms", "2000"])
    try waitUntil("the coordinator aborted the transaction", timeout: 30) {
      worker.log().contains("transaction aborted: past its timeout")
    }
    let read = try transactions(
      bootstrap, "read", ["--topic", "late", "--settle", "1.5"])
    XCTAssertEqual(read["values"] as? [String], [], "the timed-out transaction was aborted")
    // The transactional id works again, with a new epoch.
    try transactions(bootstrap, "commit-abort", ["--topic", "late2", "--txid", "tx-late"])
  }

  func testATransactionLeftOpenByAKill9IsAbortedOnRestart() throws {
    let (worker, bootstrap) = try startKafkaWorker()
    try transactions(bootstrap, "commit-abort", ["--topic", "crash", "--txid", "tx-before"])
    try transactions(bootstrap, "open", ["--topic", "crash", "--txid", "tx-crash", "--count", "6"])
    try kafkaTool(
      "produce", ["--bootstrap", bootstrap, "--topic", "crash", "--count", "4"])
    // The open transaction holds read_committed readers below its first record.
    let held = try transactions(bootstrap, "read", ["--topic", "crash", "--settle", "1.5"])
    XCTAssertEqual((held["values"] as? [String])?.count, 15, "\(held)")

    worker.kill9()
    try worker.start()
    let after = try transactions(bootstrap, "read", ["--topic", "crash", "--settle", "2"])
    let values = after["values"] as? [String] ?? []
    XCTAssertEqual(values.count, 19, "15 committed and 4 plain records: \(values)")
    XCTAssertFalse(values.contains { $0.hasPrefix("open-") }, "the open transaction was aborted")
    let all = try transactions(
      bootstrap, "read", ["--topic", "crash", "--isolation", "read_uncommitted", "--settle", "1.5"])
    XCTAssertEqual((all["values"] as? [String])?.count, 35)
    // The transactional id is usable after the restart.
    try transactions(bootstrap, "commit-abort", ["--topic", "crash2", "--txid", "tx-crash"])
  }
}
