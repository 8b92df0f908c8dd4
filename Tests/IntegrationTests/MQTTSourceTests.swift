import Foundation
import SluiceTestBrokers
import XCTest

/// The MQTT source against real mosquitto brokers and a real worker process (issue 5).
final class MQTTSourceTests: XCTestCase {
  private func connector(
    _ name: String, topic: String, port: Int, clientID: String, _ extra: String,
    errors: String = ""
  ) -> String {
    """
    name: \(name)
    source: mqtt
    topic: "\(topic)"
    config:
      url: mqtt://127.0.0.1:\(port)
      client_id: \(clientID)
      reconnect: { initial: 100ms, max: 1s }
    \(extra.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    \(errors)
    """
  }

  private func headers(_ record: [String: Any]) -> [String: String] {
    record["headers"] as? [String: String] ?? [:]
  }

  func testWildcardsTemplatesKeysHeadersAndPayloadModes() throws {
    let port = try sharedMQTTPort()
    let p = uniquePrefix()
    let host = ["-h", "127.0.0.1", "-p", "\(port)"]
    // A retained message published before the worker subscribes arrives with mqtt.retain.
    try mosquittoPub(host + ["-t", "\(p)/line9/temperature", "-q", "1", "-r", "-m", #"{"c":9}"#])
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "\(p)-json",
      connector(
        "\(p)-json", topic: "\(p).{1}", port: port, clientID: "\(p)-json",
        """
        subscriptions: [ { filter: "\(p)/+/temperature", qos: 1 }, "\(p)/+/status/#" ]
        payload: json
        """, errors: "errors: { tolerance: all, dlq_topic: \(p).dlq }"))
    try worker.writeConnector(
      "\(p)-keyed",
      connector(
        "\(p)-keyed", topic: "\(p).keyed.{json:/kind}", port: port, clientID: "\(p)-keyed",
        """
        subscriptions: [ "\(p)/keyed/#" ]
        key: "json:/device"
        protocol: "3.1.1"
        """))
    try worker.writeConnector(
      "\(p)-text",
      connector(
        "\(p)-text", topic: "\(p).text", port: port, clientID: "\(p)-text",
        "subscriptions: [ \"\(p)/text/#\" ]\npayload: text\nkey: none"))
    try worker.writeConnector(
      "\(p)-bytes",
      connector(
        "\(p)-bytes", topic: "\(p).bytes", port: port, clientID: "\(p)-bytes",
        "subscriptions: [ \"\(p)/bytes/+\" ]\npayload: bytes"))
    try worker.writeConnector(
      "\(p)-drop",
      connector(
        "\(p)-drop", topic: "\(p).drop", port: port, clientID: "\(p)-drop",
        "subscriptions: [ \"\(p)/drop\" ]", errors: "errors: { tolerance: all }"))
    try worker.start()
    for name in ["json", "keyed", "text", "bytes", "drop"] {
      try worker.waitForMQTT("\(p)-\(name)")
    }

    try mosquittoPub(
      host + [
        "-t", "\(p)/line1/temperature", "-q", "1", "-m", #"{"c":21.5}"#, "-D", "publish",
        "user-property", "site", "north", "-D", "publish", "content-type", "application/json",
      ])
    try mosquittoPub(host + ["-t", "\(p)/line2/status/door/open", "-q", "0", "-m", "true"])
    try mosquittoPub(host + ["-t", "\(p)/line3/humidity", "-q", "1", "-m", "{}"])  // no match
    try mosquittoPub(host + ["-t", "\(p)/line1/temperature", "-q", "1", "-m", "{not json"])
    try mosquittoPub(
      host + ["-t", "\(p)/keyed/a", "-q", "1", "-m", #"{"device":"d-7","kind":"env"}"#])
    try mosquittoPub(host + ["-t", "\(p)/text/x", "-q", "1", "-m", "héllo wörld"])
    let invalidUTF8 = worker.directory.appendingPathComponent("invalid.bin")
    try Data([0x66, 0xff, 0xfe]).write(to: invalidUTF8)
    try mosquittoPub(host + ["-t", "\(p)/text/y", "-q", "1", "-f", invalidUTF8.path])
    try mosquittoPub(host + ["-t", "\(p)/bytes/b", "-q", "1", "-f", invalidUTF8.path])
    try mosquittoPub(host + ["-t", "\(p)/drop", "-q", "1", "-m", "not json either"])
    // Valid JSON, but larger than the log takes (1 MiB): dead-lettered without its value.
    let huge = worker.directory.appendingPathComponent("huge.json")
    try Data(("\"" + String(repeating: "x", count: 1_100_000) + "\"").utf8).write(to: huge)
    try mosquittoPub(host + ["-t", "\(p)/line1/temperature", "-q", "1", "-f", huge.path])

    try waitUntil("records routed") {
      worker.recordCount("\(p).line1") == 1 && worker.recordCount("\(p).line2") == 1
        && worker.recordCount("\(p).line9") == 1 && worker.recordCount("\(p).dlq") == 2
        && worker.recordCount("\(p).keyed.env") == 1 && worker.recordCount("\(p).text") == 1
        && worker.recordCount("\(p)-text.dlq") == 1 && worker.recordCount("\(p).bytes") == 1
        && worker.taskDetails("\(p)-drop")["dropped"] == "1"
    }

    // Template by MQTT level, key = MQTT topic, headers with MQTT 5 properties.
    let line1 = try XCTUnwrap(worker.records("\(p).line1").first)
    XCTAssertEqual(line1["key"] as? String, "\(p)/line1/temperature")
    XCTAssertEqual((line1["value"] as? [String: Any])?["c"] as? Double, 21.5)
    XCTAssertEqual(headers(line1)["mqtt.topic"], "\(p)/line1/temperature")
    XCTAssertEqual(headers(line1)["mqtt.qos"], "1")
    XCTAssertEqual(headers(line1)["mqtt.retain"], "false")
    XCTAssertEqual(headers(line1)["site"], "north")
    XCTAssertEqual(headers(line1)["content-type"], "application/json")
    // `#` matched several levels; QoS 0 stays 0.
    let line2 = try XCTUnwrap(worker.records("\(p).line2").first)
    XCTAssertEqual(headers(line2)["mqtt.topic"], "\(p)/line2/status/door/open")
    XCTAssertEqual(headers(line2)["mqtt.qos"], "0")
    XCTAssertEqual(line2["value"] as? Bool, true)
    let retained = try XCTUnwrap(worker.records("\(p).line9").first)
    XCTAssertEqual(headers(retained)["mqtt.retain"], "true")
    XCTAssertEqual(worker.recordCount("\(p).line3"), 0, "not subscribed")
    // Invalid JSON: to the configured DLQ topic with the reason.
    let dead = try XCTUnwrap(worker.records("\(p).dlq").first { $0["value"] is String })
    XCTAssertEqual(dead["value"] as? String, "{not json")
    XCTAssertTrue(
      headers(dead)["sluice.error.reason"]?.contains("not valid JSON") ?? false, "\(dead)")
    XCTAssertEqual(headers(dead)["mqtt.topic"], "\(p)/line1/temperature")
    // Key from a JSON pointer, topic from the payload, MQTT 3.1.1.
    let keyed = try XCTUnwrap(worker.records("\(p).keyed.env").first)
    XCTAssertEqual(keyed["key"] as? String, "d-7")
    // Text: stored as is, no key; invalid UTF-8 to the default DLQ (<name>.dlq).
    let text = try XCTUnwrap(worker.records("\(p).text").first)
    XCTAssertEqual(text["value"] as? String, "héllo wörld")
    XCTAssertNil(text["key"] as? String)
    let badText = try XCTUnwrap(worker.records("\(p)-text.dlq").first)
    XCTAssertTrue(
      headers(badText)["sluice.error.reason"]?.contains("UTF-8") ?? false, "\(badText)")
    // Bytes: stored exactly.
    let bytes = try XCTUnwrap(worker.records("\(p).bytes").first)
    XCTAssertEqual(
      (bytes["value_b64"] as? String).flatMap { Data(base64Encoded: $0) }, Data([0x66, 0xff, 0xfe]))
    // Dropped with tolerance: all and no dlq_topic: counted, nothing written.
    XCTAssertEqual(worker.recordCount("\(p).drop"), 0)
    XCTAssertEqual(worker.recordCount("\(p)-drop.dlq"), 0)
    let details = worker.taskDetails("\(p)-json")
    XCTAssertEqual(details["messages"], "3")
    XCTAssertEqual(details["dead_lettered"], "2", "the invalid and the oversized message")
    let oversized = try XCTUnwrap(worker.records("\(p).dlq").first { !($0["value"] is String) })
    XCTAssertTrue(
      headers(oversized)["sluice.error.reason"]?.contains("larger than the store takes") ?? false,
      "\(oversized)")
    XCTAssertEqual(details["session"], "new")
    try mosquittoPub(host + ["-t", "\(p)/line9/temperature", "-r", "-n"])  // clear the retained
  }

  func testPersistentSessionDeliversWhatWasPublishedWhileStopped() throws {
    let port = try sharedMQTTPort()
    let p = uniquePrefix()
    let worker = try WorkerProcess()
    try worker.writeConnector(
      p,
      connector(
        p, topic: "\(p).readings", port: port, clientID: p,
        "subscriptions: [ { filter: \"\(p)/+/temperature\", qos: 1 } ]"))
    try worker.start()
    try worker.waitForMQTT(p)
    XCTAssertNotNil(worker.terminate(), "graceful stop")

    try publish([
      "--port", "\(port)", "--count", "10000", "--topic", "\(p)/d{device}/temperature",
    ])
    try worker.start()
    try waitUntil("10,000 records", timeout: 60) { worker.recordCount("\(p).readings") >= 10_000 }
    // A sentinel message after them: a repeat of one would be written before it.
    try publish([
      "--port", "\(port)", "--count", "1", "--first", "10000", "--topic",
      "\(p)/d{device}/temperature",
    ])
    try waitUntil("the sentinel message", timeout: 30) {
      sequenceNumbers(try worker.records("\(p).readings")).contains(10_000)
    }
    let seqs = sequenceNumbers(try worker.records("\(p).readings"))
    XCTAssertEqual(seqs.count, 10_001)
    XCTAssertEqual(Set(seqs), Set(0...10_000))
    XCTAssertEqual(worker.taskDetails(p)["session"], "resumed")
  }

  func testBrokerRestartMidStreamLosesNothingPublishedAfterIt() throws {
    let broker = try MQTTBroker()
    let p = uniquePrefix()
    let worker = try WorkerProcess()
    try worker.writeConnector(
      p,
      connector(
        p, topic: "\(p).readings", port: broker.port, clientID: p,
        "subscriptions: [ \"\(p)/#\" ]"))
    try worker.start()
    try worker.waitForMQTT(p)
    try publish(["--port", "\(broker.port)", "--count", "5000", "--topic", "\(p)/d{device}/t"])

    broker.stop()
    try waitUntil("the source noticed") { worker.taskDetails(p)["connected"] == "false" }
    Thread.sleep(forTimeInterval: 2)  // several reconnect attempts fail meanwhile
    try broker.start()
    try publish([
      "--port", "\(broker.port)", "--count", "5000", "--first", "5000", "--topic",
      "\(p)/d{device}/t",
    ])
    try waitUntil("every record after the restart", timeout: 60) {
      Set(sequenceNumbers(try worker.records("\(p).readings"))).isSuperset(of: 5000..<10_000)
    }
    try worker.waitForMQTT(p)
    let seqs = sequenceNumbers(try worker.records("\(p).readings"))
    XCTAssertEqual(Set(seqs), Set(0..<10_000), "and nothing before it was lost either")
    // Logged once per state change, not once per failed attempt.
    let unavailable = worker.log().components(separatedBy: "MQTT broker unavailable").count - 1
    XCTAssertGreaterThanOrEqual(unavailable, 1)
    XCTAssertLessThanOrEqual(unavailable, 2, worker.log())
    XCTAssertEqual(worker.log().components(separatedBy: "session resumed").count - 1, 1)
  }

  func testKilledWorkerLosesNoQoS1MessageAndDuplicatesAtMostOnePerKill() throws {
    try killedWorkerLosesNoQoS1Message(cluster: nil)
  }

  /// The same with the topic on a Kafka cluster (`store: kafka`, Sluice's own listener as the
  /// cluster, as in FileExactlyOnceTests): each batch and the task's position go in one
  /// transaction, the PUBACKs only after its commit; librdkafka reading read_committed sees
  /// what the worker's API sees.
  func testKilledWorkerLosesNoQoS1MessageAndDuplicatesAtMostOnePerKillOnKafka() throws {
    let cluster = try BrokerProcess(.sluice)
    try cluster.start()
    defer { cluster.stop() }
    try killedWorkerLosesNoQoS1Message(cluster: cluster)
  }

  /// A worker (its topics on `cluster` when given) with a connector subscribed at QoS 1 to
  /// `<prefix>/+/temperature` on the shared mosquitto, writing `<prefix>.readings`; started and
  /// subscribed.
  private func startReadingsWorker(cluster: BrokerProcess?) throws -> (
    worker: WorkerProcess, port: Int, prefix: String
  ) {
    let port = try sharedMQTTPort()
    let p = uniquePrefix()
    let worker = try WorkerProcess(
      workerYAMLExtra: cluster.map { "store: { kind: kafka, bootstrap: [\($0.address)] }" } ?? "")
    try worker.writeConnector(
      p,
      connector(
        p, topic: "\(p).readings", port: port, clientID: p,
        "subscriptions: [ { filter: \"\(p)/+/temperature\", qos: 1 } ]"))
    try worker.start()
    try worker.waitForMQTT(p)
    return (worker, port, p)
  }

  /// End to end on Tansu as the cluster: 5,000 QoS 1 messages, each once in the topic as
  /// librdkafka reads it read_committed.
  func testQoS1MessagesReachATansuClusterOnce() throws {
    let cluster = try BrokerProcess(.tansu)
    try cluster.start()
    defer { cluster.stop() }
    let (worker, port, p) = try startReadingsWorker(cluster: cluster)
    let total = 5_000
    let publisher = try startPublisher([
      "--port", "\(port)", "--count", "\(total)", "--rate", "2000", "--topic",
      "\(p)/d{device}/temperature",
    ])
    publisher.waitUntilExit()
    XCTAssertEqual(publisher.terminationStatus, 0)
    try waitUntil("every message in the topic", timeout: 60) {
      Set(sequenceNumbers(try worker.records("\(p).readings"))).count >= total
    }
    let seqs = sequenceNumbers(try cluster.committedRecords("\(p).readings"))
    XCTAssertEqual(seqs.count, total, "records librdkafka reads")
    XCTAssertEqual(Set(seqs), Set(0..<total))
    XCTAssertNotNil(worker.terminate())
  }

  private func killedWorkerLosesNoQoS1Message(cluster: BrokerProcess?) throws {
    let (worker, port, p) = try startReadingsWorker(cluster: cluster)

    let total = 50_000
    let publisher = try startPublisher([
      "--port", "\(port)", "--count", "\(total)", "--rate", "5000", "--topic",
      "\(p)/d{device}/temperature",
    ])
    let kills = try CrashLoop(atLeast: 5, pauses: 0.8...1.6)
      .run(worker, while: { publisher.isRunning }).kills
    XCTAssertEqual(publisher.terminationStatus, 0)
    // Wait for all of them, or until nothing more arrives for 10 s (then count what is lost).
    // Records, not end offsets: on Kafka the offsets count transaction markers too.
    var stored = 0
    var changed = Date()
    while stored < total && Date().timeIntervalSince(changed) < 10 {
      Thread.sleep(forTimeInterval: 0.5)
      let now = Set(sequenceNumbers(try worker.records("\(p).readings"))).count
      if now != stored { (stored, changed) = (now, Date()) }
    }
    // A sentinel message after the rest: redeliveries still on their way come before it.
    try publish([
      "--port", "\(port)", "--count", "1", "--first", "\(total)", "--topic",
      "\(p)/d{device}/temperature",
    ])
    try waitUntil("the sentinel message", timeout: 60) {
      sequenceNumbers(try worker.records("\(p).readings")).contains(total)
    }
    let seqs = sequenceNumbers(try worker.records("\(p).readings"))
    var seen = Set<Int>()
    var duplicated = 0
    for seq in seqs where !seen.insert(seq).inserted { duplicated += 1 }
    let lost = Set(0..<total).subtracting(seen).count
    let skipped = worker.log().components(separatedBy: "\n").compactMap { line -> Int? in
      guard let range = line.range(of: "skipped ") else { return nil }
      return Int(line[range.upperBound...].prefix { $0.isNumber })
    }.reduce(0, +)
    print(
      "MQTT crash test\(cluster == nil ? "" : " on Kafka"): \(total) QoS 1 messages, \(kills) SIGKILLs, lost \(lost), duplicated \(duplicated), redeliveries recognised and skipped \(skipped)"
    )
    XCTAssertGreaterThanOrEqual(kills, 5)
    XCTAssertEqual(lost, 0)
    XCTAssertLessThanOrEqual(duplicated, kills)
    if let cluster {
      // A consumer of the cluster that is not Sluice sees the same records.
      let librdkafka = sequenceNumbers(try cluster.committedRecords("\(p).readings"))
      XCTAssertEqual(librdkafka.count, seqs.count, "librdkafka read_committed vs the worker's API")
      XCTAssertEqual(Set(librdkafka), seen)
    }
  }

  func testTLSWithATestCertificateAuthority() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = { (name: String) in directory.appendingPathComponent(name).path }
    let openssl = "/usr/bin/openssl"
    for arguments in [
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out",
        path("ca.pem"), "-days", "1", "-subj", "/CN=Sluice Test CA",
      ],
      [
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out",
        path("server.csr"), "-subj", "/CN=127.0.0.1",
      ],
    ] {
      let r = try runProgram(openssl, arguments)
      XCTAssertEqual(r.status, 0, r.output)
    }
    try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
      toFile: path("san.ext"), atomically: true, encoding: .utf8)
    let signed = try runProgram(
      openssl,
      [
        "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
        "-CAcreateserial", "-out", path("server.pem"), "-days", "1", "-extfile", path("san.ext"),
      ])
    XCTAssertEqual(signed.status, 0, signed.output)
    let broker = try MQTTBroker(tls: (path("ca.pem"), path("server.pem"), path("server.key")))
    let p = uniquePrefix()
    let worker = try WorkerProcess()
    try worker.writeConnector(
      p,
      """
      name: \(p)
      source: mqtt
      topic: \(p).secure
      config:
        url: mqtts://127.0.0.1:\(broker.port)
        tls: { ca: \(path("ca.pem")) }
        subscriptions: [ "\(p)/#" ]
      """)
    try worker.start()
    try worker.waitForMQTT(p)
    try publish([
      "--port", "\(broker.port)", "--count", "100", "--topic", "\(p)/d{device}/t", "--cafile",
      path("ca.pem"),
    ])
    try waitUntil("100 records over TLS") { worker.recordCount("\(p).secure") == 100 }
    XCTAssertEqual(Set(sequenceNumbers(try worker.records("\(p).secure"))), Set(0..<100))

    // Trusting a CA that did not sign the broker's certificate: refused, and the status says why.
    let q = uniquePrefix()
    try worker.writeConnector(
      q,
      """
      name: \(q)
      source: mqtt
      topic: \(q).secure
      config:
        url: mqtts://127.0.0.1:\(broker.port)
        tls: { ca: \(path("server.pem")) }
        subscriptions: [ "\(q)/#" ]
      """)
    try waitUntil("TLS failure shown in status") {
      worker.taskDetails(q)["connected"] == "false" && worker.taskDetails(q)["last_error"] != nil
    }
  }
}
