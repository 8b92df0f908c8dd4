import Foundation
import XCTest

/// The Kafka listener with TLS (`kafka.tls`) and SASL (`kafka.sasl`) against real clients:
/// kcat (librdkafka 2.0.2), confluent-kafka (librdkafka 2.16) and kafka-python produce and
/// consume over SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and over SSL alone; a
/// wrong password fails with an authentication error and the listener keeps serving others.
/// The certificate is made by openssl for the test; the password comes through `${file:}`.
final class KafkaListenerSecurityTests: KafkaWorkerTestCase {
  private let password = "correct horse, battery=staple"

  /// A worker whose listener has `tls` and, with `sasl`, the three mechanisms and user alice.
  private func startSecureWorker(sasl: Bool) throws -> (
    worker: WorkerProcess, bootstrap: String, ca: String
  ) {
    let port = try WorkerProcess.freePort()
    let worker = try WorkerProcess()
    let folder = worker.directory
    try makeCertificate(in: folder)
    try password.write(
      to: folder.appendingPathComponent("alice.password"), atomically: true, encoding: .utf8)
    var yaml = """

      kafka:
        listen: 127.0.0.1:\(port)
        tls: { cert: server.pem, key: server.key }

      """
    if sasl {
      yaml += """
          sasl:
            mechanisms: [PLAIN, SCRAM-SHA-256, SCRAM-SHA-512]
            users:
              - { username: alice, password: "${file:\(folder.path)/alice.password}" }
              - { username: bob, password: other }

        """
    }
    let file = folder.appendingPathComponent("worker.yaml")
    let handle = try FileHandle(forWritingTo: file)
    handle.seekToEndOfFile()
    handle.write(Data(yaml.utf8))
    try handle.close()
    try worker.start()
    try waitUntil("the kafka listener", timeout: 15) { portIsOpen(port) }
    return (worker, "127.0.0.1:\(port)", folder.appendingPathComponent("server.pem").path)
  }

  /// kcat with a 30 s limit; its output (stdout and stderr).
  private func kcat(_ arguments: [String], stdin: String? = nil) throws -> (Int32, String) {
    let run = try runProgram(
      "/usr/bin/timeout", ["30", "kcat"] + arguments, stdin: stdin.map { Data($0.utf8) })
    return (run.status, run.output)
  }

  private func kcatSecurity(_ ca: String, mechanism: String?, password: String) -> [String] {
    guard let mechanism else {
      return ["-X", "security.protocol=ssl", "-X", "ssl.ca.location=\(ca)"]
    }
    return [
      "-X", "security.protocol=sasl_ssl", "-X", "ssl.ca.location=\(ca)",
      "-X", "sasl.mechanisms=\(mechanism)", "-X", "sasl.username=alice",
      "-X", "sasl.password=\(password)",
    ]
  }

  /// kcat produces three lines to `topic` and reads them back.
  private func kcatRoundTrip(_ bootstrap: String, _ ca: String, mechanism: String?, topic: String)
    throws
  {
    let security = kcatSecurity(ca, mechanism: mechanism, password: password)
    let produced = try kcat(
      ["-P", "-b", bootstrap, "-t", topic] + security, stdin: "one\ntwo\nthree\n")
    XCTAssertEqual(produced.0, 0, "kcat -P \(mechanism ?? "SSL"): \(produced.1)")
    let consumed = try kcat(
      ["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q"] + security)
    XCTAssertEqual(consumed.0, 0, "kcat -C \(mechanism ?? "SSL"): \(consumed.1)")
    XCTAssertEqual(
      consumed.1.split(separator: "\n").filter { !$0.hasPrefix("%") }, ["one", "two", "three"],
      "kcat \(mechanism ?? "SSL")")
  }

  func testSASLSSLWithEachMechanismAndClient() throws {
    let (worker, bootstrap, ca) = try startSecureWorker(sasl: true)
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
      for client in ["confluent", "kafka-python"] {
        try kafkaTool(
          "secure",
          [
            "--bootstrap", bootstrap, "--client", client, "--protocol", "SASL_SSL",
            "--mechanism", mechanism, "--username", "alice", "--password", password,
            "--ca", ca, "--topic", "sasl-\(client)-\(mechanism)".lowercased(),
          ])
      }
      try kcatRoundTrip(
        bootstrap, ca, mechanism: mechanism, topic: "kcat-\(mechanism)".lowercased())
    }
    XCTAssertFalse(worker.log().contains(password), "the password must not reach the log")
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testAWrongPasswordFailsAndTheListenerKeepsServing() throws {
    let (worker, bootstrap, ca) = try startSecureWorker(sasl: true)
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
      for client in ["confluent", "kafka-python"] {
        let result = try kafkaTool(
          "secure",
          [
            "--bootstrap", bootstrap, "--client", client, "--protocol", "SASL_SSL",
            "--mechanism", mechanism, "--username", "alice", "--password", "wrong",
            "--ca", ca, "--topic", "denied", "--expect-auth-failure", "--timeout", "20",
          ])
        XCTAssertTrue(
          (result["auth_error"] as? String)?.contains("invalid username or password") ?? false,
          "\(client) \(mechanism): \(result)")
      }
      let denied = try kcat(
        ["-L", "-b", bootstrap, "-m", "5"]
          + kcatSecurity(ca, mechanism: mechanism, password: "wrong"))
      XCTAssertTrue(
        denied.1.contains("Authentication failed: invalid username or password"),
        "kcat \(mechanism): \(denied.1)")
    }
    // A plaintext client on the TLS port gets nowhere, and does no harm.
    let plaintext = try kcat(["-L", "-b", bootstrap, "-m", "3"])
    XCTAssertNotEqual(plaintext.0, 0, plaintext.1)
    // Meanwhile the listener serves good clients as before.
    try kafkaTool(
      "secure",
      [
        "--bootstrap", bootstrap, "--client", "confluent", "--protocol", "SASL_SSL",
        "--mechanism", "SCRAM-SHA-256", "--username", "alice", "--password", password,
        "--ca", ca, "--topic", "after-denials",
      ])
    XCTAssertFalse(worker.log().contains(password))
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testSSLWithoutSASL() throws {
    let (worker, bootstrap, ca) = try startSecureWorker(sasl: false)
    for client in ["confluent", "kafka-python"] {
      try kafkaTool(
        "secure",
        [
          "--bootstrap", bootstrap, "--client", client, "--protocol", "SSL", "--ca", ca,
          "--topic", "ssl-\(client)",
        ])
    }
    try kcatRoundTrip(bootstrap, ca, mechanism: nil, topic: "kcat-ssl")
    XCTAssertEqual(worker.terminate()?.status, 0)
  }
}

/// A self-signed certificate for 127.0.0.1 and localhost (`server.pem`, `server.key`).
func makeCertificate(in folder: URL) throws {
  let run = try runProgram(
    "/usr/bin/openssl",
    [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout", folder.appendingPathComponent("server.key").path,
      "-out", folder.appendingPathComponent("server.pem").path,
    ])
  guard run.status == 0 else { throw WorkerError("openssl: \(run.output)") }
}
