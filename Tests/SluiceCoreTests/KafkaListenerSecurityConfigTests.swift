import Foundation
import XCTest

@testable import SluiceCore

/// `kafka.tls` and `kafka.sasl` in worker.yaml: the values read, files resolved beside the
/// worker file, passwords interpolated and never printed, and an error at the line of each bad
/// key or value.
final class KafkaListenerSecurityConfigTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-listener-config-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for name in ["server.pem", "server.key"] {
      FileManager.default.createFile(
        atPath: folder.appendingPathComponent(name).path, contents: Data("pem".utf8))
    }
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  private func parse(_ text: String) throws(ConfigError) -> WorkerConfig {
    try WorkerConfig.parse(
      text: text, file: folder.appendingPathComponent("worker.yaml").path,
      environment: ["ALICE_PASSWORD": "from-env"])
  }

  private func error(_ text: String) -> String {
    do {
      _ = try parse(text)
      return "no error"
    } catch {
      return error.description
    }
  }

  func testTLSAndSASLAreRead() throws {
    let config = try parse(
      """
      kafka:
        listen: 127.0.0.1:9093
        tls: { cert: server.pem, key: server.key }
        sasl:
          mechanisms: [PLAIN, SCRAM-SHA-256, SCRAM-SHA-512]
          users:
            - { username: alice, password: "${env:ALICE_PASSWORD}" }
            - { username: bob, password: plain-text }
      """)
    let kafka = try XCTUnwrap(config.kafka)
    XCTAssertEqual(
      kafka.tls,
      KafkaListenerTLS(
        certificateFile: folder.appendingPathComponent("server.pem").path,
        privateKeyFile: folder.appendingPathComponent("server.key").path))
    XCTAssertEqual(kafka.sasl?.mechanisms, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    XCTAssertEqual(kafka.sasl?.users.map(\.username), ["alice", "bob"])
    XCTAssertEqual(kafka.sasl?.users.first?.password, "from-env")
    XCTAssertEqual(kafka.securityProtocol, "SASL_SSL")
    // A user prints without the password.
    XCTAssertEqual("\(kafka.sasl!.users[0])", "alice:***")
    XCTAssertFalse("\(kafka)".contains("from-env"), "\(kafka)")
  }

  func testSecurityProtocolFollowsWhatIsSet() throws {
    XCTAssertEqual(
      try parse("kafka: { listen: 127.0.0.1:9092 }\n").kafka?.securityProtocol, "PLAINTEXT")
    XCTAssertEqual(
      try parse("kafka: { tls: { cert: server.pem, key: server.key } }\n").kafka?.securityProtocol,
      "SSL")
    XCTAssertEqual(
      try parse("kafka: { sasl: { mechanisms: [PLAIN], users: [{ username: a, password: b }] } }\n")
        .kafka?.securityProtocol, "SASL_PLAINTEXT")
  }

  func testErrorsPointAtTheLine() {
    let cases: [(String, String, String)] = [
      ("kafka:\n  tls: { cert: server.pem }\n", "worker.yaml:2:", "missing required key 'key'"),
      (
        "kafka:\n  tls: { cert: nope.pem, key: server.key }\n", "worker.yaml:2:",
        "cannot read the PEM file"
      ),
      (
        "kafka:\n  tls: { cert: server.pem, key: server.key, ca: x }\n", "worker.yaml:2:",
        "unknown key 'ca'"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [PLAN]\n    users: [{ username: a, password: b }]\n",
        "worker.yaml:3:", "did you mean 'PLAIN'?"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [scram-sha-256]\n    users: [{ username: a, password: b }]\n",
        "worker.yaml:3:", "did you mean 'SCRAM-SHA-256'?"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [GSSAPI]\n    users: [{ username: a, password: b }]\n",
        "worker.yaml:3:", "expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: []\n    users: [{ username: a, password: b }]\n",
        "worker.yaml:3:", "at least one"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [PLAIN, PLAIN]\n    users: [{ username: a, password: b }]\n",
        "worker.yaml:3:", "listed twice"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [PLAIN]\n", "worker.yaml:3:",
        "missing required key 'users'"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [PLAIN]\n    users: []\n", "worker.yaml:4:",
        "at least one"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [PLAIN]\n    users:\n      - { username: a, password: \"\" }\n",
        "worker.yaml:5:", "non-empty"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [PLAIN]\n    users:\n      - { username: a, password: b }\n      - { username: a, password: c }\n",
        "worker.yaml:6:", "listed twice"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [PLAIN]\n    users:\n      - { user: a, password: b }\n",
        "worker.yaml:5:", "did you mean 'username'?"
      ),
      (
        "kafka:\n  sasl:\n    mechanisms: [PLAIN]\n    users:\n      - { username: a, password: \"${env:MISSING}\" }\n",
        "worker.yaml:5:", "MISSING"
      ),
    ]
    for (text, location, message) in cases {
      let got = error(text)
      XCTAssertTrue(got.contains(location), "\(text)\n→ \(got)")
      XCTAssertTrue(got.contains(message), "\(text)\n→ \(got)")
    }
  }

  func testAnEmptyInterpolatedPasswordIsRefusedWithoutShowingIt() {
    let got = error(
      "kafka:\n  sasl:\n    mechanisms: [PLAIN]\n    users:\n      - { username: a, password: \"${env:EMPTY:-}\" }\n"
    )
    XCTAssertTrue(got.contains("non-empty"), got)
  }
}
