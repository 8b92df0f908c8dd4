import XCTest

@testable import SluiceCore

/// `store:` in worker.yaml: the embedded default, a Kafka cluster, and an error at the line of
/// each bad key or value.
final class StoreConfigTests: XCTestCase {
  private func parse(_ text: String) throws(ConfigError) -> WorkerConfig {
    try WorkerConfig.parse(text: text, file: "worker.yaml", environment: ["KAFKA_PASSWORD": "s3"])
  }

  /// The message of the error `text` gives, or "no error".
  private func error(_ text: String) -> String {
    do {
      _ = try parse(text)
      return "no error"
    } catch {
      return error.description
    }
  }

  func testStoreIsEmbeddedUnlessSaidOtherwise() throws {
    let defaults = StoreConfig.embedded(EmbeddedStoreConfig())
    XCTAssertEqual(try parse("data_dir: d\n").store, defaults)
    XCTAssertEqual(try parse("store: { kind: embedded }\n").store, defaults)
    XCTAssertEqual(try parse("store: {}\n").store, defaults)
    // `log:` is the embedded store's own section, before or after `store:`.
    var four = EmbeddedStoreConfig()
    four.partitions = 4
    XCTAssertEqual(try parse("log: { partitions: 4 }\nstore: { kind: embedded }\n").store, .embedded(four))
    XCTAssertEqual(try parse("store: { kind: embedded }\nlog: { partitions: 4 }\n").store, .embedded(four))
  }

  func testLogSettingsWithAKafkaStoreAreAnErrorAtTheirLine() {
    XCTAssertTrue(
      error("store: { kind: kafka, bootstrap: [a:1] }\nlog: { partitions: 4 }\n")
        .hasPrefix("worker.yaml:2:"),
      error("store: { kind: kafka, bootstrap: [a:1] }\nlog: { partitions: 4 }\n"))
    XCTAssertTrue(
      error("log: { partitions: 4 }\nstore: { kind: kafka, bootstrap: [a:1] }\n")
        .contains("log: configures the embedded log"))
  }

  func testKafkaStoreWithEveryKey() throws {
    let config = try parse(
      """
      store:
        kind: kafka
        bootstrap: [kafka-1:9092, "[::1]:9093"]
        client_id: shop-worker
        security:
          protocol: sasl_ssl
          sasl: { mechanism: SCRAM-SHA-512, username: sluice, password: "${env:KAFKA_PASSWORD}" }
          tls: { ca: /etc/ca.pem, cert: /etc/client.pem, key: /etc/client.key }
        replication_factor: 3
        default_partitions: 6
        offsets_topic: shop-offsets
        status_topic: shop-status
        compression: lz4

      """)
    guard case .kafka(let kafka) = config.store else { return XCTFail("\(config.store)") }
    XCTAssertEqual(
      kafka.bootstrap, [.init(host: "kafka-1", port: 9092), .init(host: "::1", port: 9093)])
    XCTAssertEqual(kafka.clientId, "shop-worker")
    XCTAssertEqual(kafka.securityProtocol, .saslSSL)
    XCTAssertEqual(
      kafka.sasl, .init(mechanism: "SCRAM-SHA-512", username: "sluice", password: "s3"))
    XCTAssertEqual(
      kafka.tls, .init(ca: "/etc/ca.pem", cert: "/etc/client.pem", key: "/etc/client.key"))
    XCTAssertEqual(kafka.replicationFactor, 3)
    XCTAssertEqual(kafka.defaultPartitions, 6)
    XCTAssertEqual(kafka.offsetsTopic, "shop-offsets")
    XCTAssertEqual(kafka.statusTopic, "shop-status")
    XCTAssertEqual(kafka.compression, .lz4)
  }

  func testKafkaStoreDefaults() throws {
    let config = try parse("store: { kind: kafka, bootstrap: 127.0.0.1:9092 }\n")
    guard case .kafka(let kafka) = config.store else { return XCTFail("\(config.store)") }
    XCTAssertEqual(kafka.bootstrap, [.init(host: "127.0.0.1", port: 9092)])
    XCTAssertEqual(kafka.clientId, "sluice")
    XCTAssertEqual(kafka.securityProtocol, .plaintext)
    XCTAssertNil(kafka.sasl)
    XCTAssertNil(kafka.tls)
    XCTAssertNil(kafka.replicationFactor)
    XCTAssertEqual(kafka.defaultPartitions, 1)
    XCTAssertEqual(kafka.offsetsTopic, "sluice-offsets")
    XCTAssertEqual(kafka.statusTopic, "sluice-status")
    XCTAssertEqual(kafka.compression, CompressionType.none)
  }

  func testEachBadKeyOrValueIsAnErrorAtItsLine() {
    let cases: [(String, String, String)] = [
      ("store:\n  kind: kafak\n", "worker.yaml:2:", "did you mean 'kafka'?"),
      ("store:\n  kind: kafka\n  bootsrap: [a:1]\n", "worker.yaml:3:", "did you mean 'bootstrap'?"),
      ("store:\n  kind: kafka\n", "worker.yaml:2:", "bootstrap"),
      ("store:\n  kind: kafka\n  bootstrap: []\n", "worker.yaml:3:", "at least one broker"),
      ("store:\n  kind: kafka\n  bootstrap: [a:1, b]\n", "worker.yaml:3:", "expected host:port"),
      ("store:\n  kind: kafka\n  bootstrap: [a:70000]\n", "worker.yaml:3:", "expected host:port"),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  replication_factor: 0\n", "worker.yaml:4:",
        "at least 1"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  compression: lz5\n", "worker.yaml:4:",
        "did you mean 'lz4'?"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  default_partitions: 0\n", "worker.yaml:4:",
        "expected an integer from 1"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  offsets_topic: 'a b'\n", "worker.yaml:4:",
        "Kafka topic name"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  status_topic: sluice-offsets\n",
        "worker.yaml:4:", "must be different"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  history_topic: sluice-status\n",
        "worker.yaml:4:", "status_topic and history_topic must be different"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  security:\n    protocol: sasl_plain\n",
        "worker.yaml:5:", "did you mean 'sasl_plaintext'?"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  security:\n    protocol: sasl_ssl\n",
        "worker.yaml:5:", "needs sasl"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  security:\n    sasl: { mechanism: PLAIN, username: u, password: p }\n",
        "worker.yaml:5:", "only with protocol sasl_plaintext or sasl_ssl"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  security:\n    protocol: sasl_plaintext\n    sasl: { mechanism: SCRAM-SHA-265, username: u, password: p }\n",
        "worker.yaml:6:", "did you mean 'SCRAM-SHA-256'?"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  security:\n    protocol: sasl_plaintext\n    sasl:\n      mechanism: PLAIN\n      username: u\n",
        "worker.yaml:7:", "missing required key 'password'"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  security:\n    protocol: ssl\n    tls:\n      cert: c.pem\n",
        "worker.yaml:7:", "cert and key go together"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  security:\n    protocol: ssl\n    tls:\n      certificate: c.pem\n",
        "worker.yaml:7:", "unknown key 'certificate'; expected one of: ca, cert, key"
      ),
      (
        "store:\n  kind: kafka\n  bootstrap: [a:1]\n  security:\n    tls: { ca: ca.pem }\n",
        "worker.yaml:5:", "only with protocol ssl or sasl_ssl"
      ),
      (
        "store:\n  kind: embedded\n  bootstrap: [a:1]\n", "worker.yaml:3:",
        "unknown key 'bootstrap'"
      ),
      (
        "kafka: { listen: 127.0.0.1:9092 }\nstore: { kind: kafka, bootstrap: [a:1] }\n",
        "worker.yaml:1:", "remove kafka:"
      ),
      ("stor: { kind: kafka }\n", "worker.yaml:1:", "did you mean 'store'?"),
    ]
    for (text, location, message) in cases {
      let got = error(text)
      XCTAssertTrue(got.hasPrefix(location), "\(text)\n→ \(got)")
      XCTAssertTrue(got.contains(message), "\(text)\n→ \(got)")
    }
  }
}
