import Foundation
import SluiceKafka
import SluiceTestBrokers
import XCTest

@testable import SluiceKafkaStore

/// Sluice's client with TLS and each SASL mechanism against Sluice's own listener configured
/// for them (Tansu 0.6 cannot serve SASL or TLS): the CA is a self-signed certificate made by
/// openssl for the test. Produce, fetch, and a wrong password that fails clearly.
final class ClientSecurityAgainstListenerTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-client-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try makeCertificate(in: folder)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: folder)
  }

  private var certificate: String { folder.appendingPathComponent("server.pem").path }
  private var key: String { folder.appendingPathComponent("server.key").path }

  private func secureBroker(sasl: Bool) throws -> BrokerProcess {
    var settings = "tls: { cert: \"\(certificate)\", key: \"\(key)\" }"
    if sasl {
      settings +=
        ", sasl: { mechanisms: [PLAIN, SCRAM-SHA-256, SCRAM-SHA-512], users: [{ username: alice, password: \"pa,ss=w0rd\" }] }"
    }
    let broker = try BrokerProcess(.sluice, listenerSettings: settings)
    try broker.start()
    return broker
  }

  private func client(
    _ broker: BrokerProcess, sasl: KafkaSASLConfiguration?
  ) -> KafkaClient {
    KafkaClient(
      configuration: KafkaClientConfiguration(
        bootstrap: [broker.bootstrap], clientId: "sluice-tls-test",
        tls: KafkaTLSConfiguration(caFile: certificate), sasl: sasl,
        requestTimeout: .seconds(10), retryBackoff: .milliseconds(50),
        retryBackoffMax: .milliseconds(500), retryTimeout: .seconds(10)))
  }

  /// Creates a topic, produces five records idempotently and reads them back.
  private func produceAndFetch(_ client: KafkaClient, topic: String) async throws {
    try await client.createTopics([NewTopic(name: topic, partitions: 1)])
    let producer = KafkaProducer(client: client)
    try await producer.initialize()
    let partition = KafkaTopicPartition(topic, 0)
    let records = (0..<5).map {
      KafkaRecord(
        key: Array("k\($0)".utf8), value: Array("\(topic) \($0)".utf8),
        timestamp: 1_700_000_000_000 + Int64($0))
    }
    let offset = try await producer.send(records, to: partition)
    XCTAssertEqual(offset, 0, topic)
    let read = try await readRecords(client, partition, count: 5)
    XCTAssertEqual(read.map(\.record), records, topic)
  }

  func testEachSASLMechanismOverTLSProducesAndFetches() async throws {
    let broker = try secureBroker(sasl: true)
    defer { broker.stop() }
    for mechanism in SASLMechanism.allCases {
      let client = client(
        broker,
        sasl: KafkaSASLConfiguration(
          mechanism: mechanism, username: "alice", password: "pa,ss=w0rd"))
      do {
        try await produceAndFetch(client, topic: "secure-\(mechanism.rawValue.lowercased())")
      } catch {
        XCTFail("\(mechanism): \(error)\n\(broker.log().suffix(3000))")
      }
      await client.close()
    }
    XCTAssertFalse(broker.log().contains("pa,ss=w0rd"), "the password must not be logged")
  }

  func testAWrongPasswordIsAClearAuthenticationError() async throws {
    let broker = try secureBroker(sasl: true)
    defer { broker.stop() }
    for mechanism in SASLMechanism.allCases {
      let client = client(
        broker,
        sasl: KafkaSASLConfiguration(mechanism: mechanism, username: "alice", password: "wrong"))
      do {
        _ = try await client.metadata(topics: [], refresh: true)
        XCTFail("\(mechanism): a wrong password was accepted")
      } catch let error as KafkaClientError {
        XCTAssertEqual(error.kind, .authenticationFailed, "\(mechanism): \(error)")
        XCTAssertTrue(
          "\(error)".contains("invalid username or password"), "\(mechanism): \(error)")
      } catch {
        XCTFail("\(mechanism): not a KafkaClientError: \(error)")
      }
      await client.close()
    }
    // The listener still serves a client with the right password.
    let good = client(
      broker,
      sasl: KafkaSASLConfiguration(
        mechanism: .scramSHA512, username: "alice", password: "pa,ss=w0rd"))
    try await produceAndFetch(good, topic: "after-failures")
    await good.close()
  }

  func testTLSWithoutSASLProducesAndFetches() async throws {
    let broker = try secureBroker(sasl: false)
    defer { broker.stop() }
    let client = client(broker, sasl: nil)
    try await produceAndFetch(client, topic: "tls-only")
    await client.close()
  }

  func testACertificateFromAnotherCAIsRefused() async throws {
    let broker = try secureBroker(sasl: false)
    defer { broker.stop() }
    let other = folder.appendingPathComponent("other")
    try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
    try makeCertificate(in: other)
    let client = KafkaClient(
      configuration: KafkaClientConfiguration(
        bootstrap: [broker.bootstrap],
        tls: KafkaTLSConfiguration(caFile: other.appendingPathComponent("server.pem").path),
        requestTimeout: .seconds(5), retryTimeout: .seconds(2)))
    do {
      _ = try await client.metadata(topics: [], refresh: true)
      XCTFail("a certificate of an untrusted CA was accepted")
    } catch {}
    await client.close()
  }
}

/// A self-signed certificate for 127.0.0.1 and localhost (`server.pem`, `server.key`).
func makeCertificate(in folder: URL) throws {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
  process.arguments = [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", folder.appendingPathComponent("server.key").path,
    "-out", folder.appendingPathComponent("server.pem").path,
  ]
  process.standardError = FileHandle.nullDevice
  try process.run()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    throw BrokerError("openssl req exited with \(process.terminationStatus)")
  }
}
