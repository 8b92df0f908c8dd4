import Crypto
import NIOSSL
import Foundation
import SluiceTestBrokers
import XCTest

/// The HTTP sink inside a real worker process, delivering to a real HTTP server on loopback:
/// templates, auth, batch formats, ordering, retries against a flaky receiver, the DLQ, and
/// at-least-once with stable idempotency keys across SIGKILL.
final class HTTPSinkWorkerTests: XCTestCase {
  /// Produces records through the admin API: `(key, JSON value)` pairs.
  func produce(_ worker: WorkerProcess, _ topic: String, _ records: [(String?, String)]) throws {
    let items = records.map { key, value in
      (key.map { #"{"key": "\#($0)", "value": "# } ?? #"{"value": "#) + value + "}"
    }
    let (status, body) = try worker.post(
      "/topics/\(topic)/records", json: #"{"records": [\#(items.joined(separator: ","))]}"#)
    XCTAssertEqual(status, 200, String(decoding: body, as: UTF8.self))
  }

  func json(_ text: String) -> NSObject? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
      as? NSObject
  }

  func taskStatus(_ worker: WorkerProcess, _ connector: String) -> [String: Any]? {
    let status = try? worker.getJSON("/connectors/\(connector)/status") as? [String: Any]
    return (status?["tasks"] as? [[String: Any]])?.first
  }

  func testRequestsCarryTemplatesHeadersAndAVerifiableSignature() throws {
    let receiver = try HTTPReceiver.start()
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "billing",
      """
      name: billing
      sink: http
      topics: [orders]
      config:
        url: "\(receiver.url)/orders/{key}?topic={topic}&p={partition}&customer={value:/customer/id}"
        method: PUT
        headers: { X-Static: fixed, X-Order-Id: "{value:/id}" }
        auth: { type: hmac-sha256, secret: s3cret }
      """)
    try worker.start()
    try produce(
      worker, "orders",
      [
        ("o/1", #"{"id": 1, "customer": {"id": "c 9"}}"#),
        ("o-2", #"{"id": 2, "customer": {"id": 7}}"#),
      ])
    receiver.wait(timeout: 20) { $0.filter { $0.status == 200 }.count == 2 }
    let got = receiver.received.sorted { $0.uri < $1.uri }
    XCTAssertEqual(got.count, 2, "\(got.map(\.uri))")
    guard got.count == 2 else { return }
    XCTAssertEqual(got[0].uri, "/orders/o%2F1?topic=orders&p=0&customer=c%209")
    XCTAssertEqual(got[1].uri, "/orders/o-2?topic=orders&p=0&customer=7")
    for (i, request) in got.enumerated() {
      XCTAssertEqual(request.method, "PUT")
      XCTAssertEqual(request.headers["x-static"], "fixed")
      XCTAssertEqual(request.headers["x-order-id"], "\(i + 1)")
      XCTAssertEqual(request.headers["content-type"], "application/json")
      XCTAssertEqual(request.idempotencyKey, "billing:orders:0:\(i)")
      XCTAssertEqual(json(request.bodyText), json(i == 0 ? #"{"id":1,"customer":{"id":"c 9"}}"# : #"{"id":2,"customer":{"id":7}}"#))
      // The receiver's check: HMAC-SHA256 of the exact body with the shared secret, hex.
      let mac = HMAC<SHA256>.authenticationCode(
        for: request.body, using: SymmetricKey(data: Array("s3cret".utf8)))
      let hex = mac.map { String(format: "%02x", $0) }.joined()
      XCTAssertEqual(request.headers["x-sluice-signature-256"], "sha256=\(hex)")
    }
    XCTAssertNotNil(worker.terminate())
  }

  func testBearerAndBasicAuth() throws {
    let receiver = try HTTPReceiver.start()
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "bearer",
      """
      name: bearer
      sink: http
      topics: [a]
      config: { url: "\(receiver.url)/bearer", auth: { type: bearer, token: t0ken } }
      """)
    try worker.writeConnector(
      "basic",
      """
      name: basic
      sink: http
      topics: [a]
      config: { url: "\(receiver.url)/basic", auth: { type: basic, username: ann, password: "p:w" } }
      """)
    try worker.start()
    try produce(worker, "a", [(nil, "1")])
    receiver.wait(timeout: 20) { $0.filter { $0.status == 200 }.count == 2 }
    let byPath = Dictionary(grouping: receiver.received, by: \.uri)
    XCTAssertEqual(byPath["/bearer"]?.first?.headers["authorization"], "Bearer t0ken")
    XCTAssertEqual(
      byPath["/basic"]?.first?.headers["authorization"],
      "Basic \(Data("ann:p:w".utf8).base64EncodedString())")
    XCTAssertEqual(byPath["/basic"]?.first?.bodyText, "1")
    XCTAssertNotNil(worker.terminate())
  }

  func testBatchesAsJSONArraysAndAsNDJSONEnvelopes() throws {
    let receiver = try HTTPReceiver.start()
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "arrays",
      """
      name: arrays
      sink: http
      topics: [readings]
      config:
        url: "\(receiver.url)/arrays/{topic}"
        batch: { max_records: 10, linger_ms: 300, format: json_array }
      """)
    try worker.writeConnector(
      "lines",
      """
      name: lines
      sink: http
      topics: [readings]
      config:
        url: "\(receiver.url)/lines"
        body: envelope
        batch: { max_records: 7, linger_ms: 300, format: ndjson }
      """)
    try worker.start()
    try produce(worker, "readings", (0..<25).map { (nil, #"{"n": \#($0)}"#) })
    let arrays = { receiver.received.filter { $0.uri == "/arrays/readings" && $0.status == 200 } }
    let lines = { receiver.received.filter { $0.uri == "/lines" && $0.status == 200 } }
    func arrayCount() -> Int {
      arrays().reduce(0) { $0 + ((self.json($1.bodyText) as? [Any])?.count ?? 0) }
    }
    func lineCount() -> Int {
      lines().reduce(0) { $0 + $1.bodyText.split(separator: "\n").count }
    }
    receiver.wait(timeout: 20) { _ in arrayCount() == 25 && lineCount() == 25 }

    var seen: [Int] = []
    for request in arrays() {
      let items = try XCTUnwrap(json(request.bodyText) as? [[String: Int]], request.bodyText)
      XCTAssertLessThanOrEqual(items.count, 10)
      let ns = items.map { $0["n"]! }
      XCTAssertEqual(ns, Array(ns[0]..<(ns[0] + ns.count)), "a batch holds contiguous records")
      XCTAssertEqual(request.idempotencyKey, "arrays:readings:0:\(ns[0])")
      XCTAssertEqual(request.headers["content-type"], "application/json")
      seen += ns
    }
    XCTAssertEqual(seen.sorted(), Array(0..<25))

    var offsets: [Int] = []
    for request in lines() {
      let envelopes = request.bodyText.split(separator: "\n").map {
        json(String($0)) as? [String: Any]
      }
      XCTAssertLessThanOrEqual(envelopes.count, 7)
      XCTAssertEqual(request.headers["content-type"], "application/x-ndjson")
      let first = try XCTUnwrap(envelopes.first??["offset"] as? Int)
      XCTAssertEqual(request.idempotencyKey, "lines:readings:0:\(first)")
      for (i, envelope) in envelopes.enumerated() {
        XCTAssertEqual(envelope?["topic"] as? String, "readings")
        XCTAssertEqual(envelope?["offset"] as? Int, first + i)
        XCTAssertEqual((envelope?["value"] as? [String: Int])?["n"], first + i)
      }
      offsets += envelopes.compactMap { $0?["offset"] as? Int }
    }
    XCTAssertEqual(offsets.sorted(), Array(0..<25))
    XCTAssertNotNil(worker.terminate())
  }

  /// With 30% of requests refused, a key's next record is sent only after its previous one was
  /// accepted; other keys go on meanwhile. With `ordering: partition` one request at a time.
  func testOrderIsKeptPerKeyAndPerPartitionWhileRequestsAreRetried() throws {
    // Each answer takes 5 ms, so that requests running at the same time overlap visibly.
    let flaky = try HTTPReceiver.start { _ in
      Double.random(in: 0..<1) < 0.3
        ? .init(status: 503, body: #"{"error":"busy"}"#, stall: .milliseconds(5))
        : .init(stall: .milliseconds(5))
    }
    let strict = try HTTPReceiver.start { _ in
      Double.random(in: 0..<1) < 0.3
        ? .init(status: 503, stall: .milliseconds(5)) : .init(stall: .milliseconds(5))
    }
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "by-key",
      """
      name: by-key
      sink: http
      topics: [moves]
      config:
        url: "\(flaky.url)/moves"
        max_in_flight: 16
        retry: { max_attempts: 100, backoff_ms: 5, max_backoff_ms: 50 }
      """)
    try worker.writeConnector(
      "by-partition",
      """
      name: by-partition
      sink: http
      topics: [moves]
      config:
        url: "\(strict.url)/moves"
        max_in_flight: 16
        ordering: partition
        retry: { max_attempts: 100, backoff_ms: 5, max_backoff_ms: 50 }
      """)
    try worker.start()
    let total = 200
    try produce(
      worker, "moves", (0..<total).map { ("k\($0 % 5)", #"{"k": \#($0 % 5), "seq": \#($0)}"#) })
    for receiver in [flaky, strict] {
      receiver.wait(timeout: 60) { Set($0.filter { $0.status == 200 }.map(\.bodyText)).count == total }
    }

    func seq(_ r: HTTPReceiver.Received) -> Int { (json(r.bodyText) as? [String: Int])?["seq"] ?? -1 }
    // Per key: every request is for the key's oldest record not yet accepted.
    var pending: [Int: [Int]] = [:]
    for n in 0..<total { pending[n % 5, default: []].append(n) }
    for request in flaky.received {
      let n = seq(request)
      XCTAssertEqual(n, pending[n % 5]?.first, "key k\(n % 5) got record \(n) out of order")
      if request.status == 200, pending[n % 5]?.first == n { pending[n % 5]!.removeFirst() }
    }
    XCTAssertTrue(pending.values.allSatisfy(\.isEmpty), "every record accepted")
    XCTAssertGreaterThan(flaky.received.filter { $0.status == 503 }.count, 20, "retries happened")
    XCTAssertGreaterThan(flaky.maxConcurrent, 1, "keys were delivered concurrently")

    // Per partition: strictly in offset order, one request at a time.
    var next = 0
    for request in strict.received {
      XCTAssertEqual(seq(request), next, "partition order")
      if request.status == 200 { next += 1 }
    }
    XCTAssertEqual(next, total)
    XCTAssertEqual(strict.maxConcurrent, 1)
    XCTAssertNotNil(worker.terminate())
  }

  /// 503 for 30%, 429 with Retry-After for 5%, and stalls past the timeout for 3% of requests:
  /// every record is delivered, and grouping deliveries by Idempotency-Key gives each once.
  func testEveryRecordArrivesThroughRefusalsRateLimitsAndStalls() throws {
    let receiver = try HTTPReceiver.start { _ in
      let roll = Double.random(in: 0..<1)
      if roll < 0.30 { return .init(status: 503) }
      if roll < 0.35 { return .init(status: 429, headers: ["Retry-After": "1"]) }
      if roll < 0.38 { return .init(stall: .milliseconds(1500)) }
      return .init()
    }
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "flaky",
      """
      name: flaky
      sink: http
      topics: [events]
      config:
        url: "\(receiver.url)/events"
        max_in_flight: 32
        timeout_ms: 400
        retry: { max_attempts: 60, backoff_ms: 10, max_backoff_ms: 200 }
      """)
    try worker.start()
    let total = 300
    try produce(worker, "events", (0..<total).map { ("e\($0)", #"{"e": \#($0)}"#) })
    let expected = Set((0..<total).map { "flaky:events:0:\($0)" })
    receiver.wait(timeout: 90) { _ in Set(receiver.deliveredByKey.keys) == expected }

    let delivered = receiver.deliveredByKey
    XCTAssertEqual(Set(delivered.keys), expected)
    for (key, requests) in delivered {
      let offset = Int(key.split(separator: ":").last!)!
      for request in requests {
        XCTAssertEqual(json(request.bodyText), json(#"{"e": \#(offset)}"#), key)
      }
    }
    let all = receiver.received
    let limited = all.filter { $0.status == 429 }
    XCTAssertGreaterThan(all.filter { $0.status == 503 }.count, 0)
    XCTAssertGreaterThan(limited.count, 0)
    // Retry-After: 1 is honoured — the next try of that key comes a second later at the earliest.
    for refused in limited {
      guard let answered = refused.answered,
        let retry = all.first(where: {
          $0.idempotencyKey == refused.idempotencyKey && $0.index > refused.index
        })
      else { continue }
      XCTAssertGreaterThanOrEqual(retry.arrived.timeIntervalSince(answered), 0.95)
    }
    let stalled = all.filter { r in r.answered.map { $0.timeIntervalSince(r.arrived) >= 1.4 } ?? true }
    XCTAssertGreaterThan(stalled.count, 0, "some requests stalled past the timeout")
    let details = taskStatus(worker, "flaky")?["details"] as? [String: String]
    XCTAssertGreaterThanOrEqual(Int(details?["requests"] ?? "") ?? 0, total)
    XCTAssertGreaterThan(Int(details?["retries"] ?? "") ?? 0, 0)
    XCTAssertNotNil(worker.terminate())
  }

  /// The receiver is down when the records arrive (connection refused) and comes up later:
  /// the sink keeps retrying and delivers everything, in order per key.
  func testARefusedConnectionIsRetriedUntilTheReceiverComesUp() throws {
    let port = try WorkerProcess.freePort()
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "patient",
      """
      name: patient
      sink: http
      topics: [later]
      config:
        url: "http://127.0.0.1:\(port)/later"
        retry: { max_attempts: 0, backoff_ms: 50, max_backoff_ms: 400 }
      """)
    try worker.start()
    try produce(worker, "later", (0..<20).map { ("k\($0 % 2)", #"{"n": \#($0)}"#) })
    try waitUntil("retries while the receiver is down", timeout: 20) {
      let details = self.taskStatus(worker, "patient")?["details"] as? [String: String]
      return Int(details?["retries"] ?? "") ?? 0 >= 4
    }
    let receiver = try HTTPReceiver.start(port: port)
    receiver.wait(timeout: 20) { Set($0.filter { $0.status == 200 }.map(\.bodyText)).count == 20 }
    let accepted = receiver.received.filter { $0.status == 200 }.map {
      (json($0.bodyText) as? [String: Int])?["n"] ?? -1
    }
    XCTAssertEqual(Set(accepted), Set(0..<20))
    for key in 0..<2 {
      let mine = accepted.filter { $0 % 2 == key }
      XCTAssertEqual(mine, mine.sorted(), "key k\(key) in order")
    }
    XCTAssertNotNil(worker.terminate())
  }

  func testAPoisonRecordGoesToTheDeadLetterTopicWithStatusAndBody() throws {
    let receiver = try HTTPReceiver.start { request in
      request.bodyText.contains(#""id":3"#)
        ? .init(status: 400, body: #"{"error":"order 3 is invalid"}"#) : .init()
    }
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "tolerant",
      """
      name: tolerant
      sink: http
      topics: [orders]
      config: { url: "\(receiver.url)/tolerant" }
      errors: { tolerance: all, dlq_topic: orders.http.dlq }
      """)
    try worker.writeConnector(
      "strict",
      """
      name: strict
      sink: http
      topics: [orders]
      config: { url: "\(receiver.url)/strict" }
      """)
    try worker.start()
    try produce(worker, "orders", (1...5).map { ("o\($0)", #"{"id":\#($0)}"#) })
    try waitUntil("the poison dead-lettered", timeout: 30) {
      ((try? worker.records("orders.http.dlq")) ?? []).count == 1
    }
    receiver.wait(timeout: 10) { $0.filter { $0.uri == "/tolerant" && $0.status == 200 }.count == 4 }
    let accepted = receiver.received.filter { $0.uri == "/tolerant" && $0.status == 200 }
    XCTAssertEqual(
      Set(accepted.map(\.bodyText)), Set([1, 2, 4, 5].map { #"{"id":\#($0)}"# }))
    let dead = try XCTUnwrap(worker.records("orders.http.dlq").first)
    XCTAssertEqual(dead["value"] as? [String: Int], ["id": 3])
    let headers = try XCTUnwrap(dead["headers"] as? [String: Any])
    XCTAssertEqual(headers["sluice.http.status"] as? String, "400")
    XCTAssertEqual(headers["sluice.http.response"] as? String, #"{"error":"order 3 is invalid"}"#)
    XCTAssertEqual(headers["sluice.error.attempts"] as? String, "1")
    XCTAssertEqual(headers["sluice.error.offset"] as? String, "2")
    XCTAssertTrue((headers["sluice.error.reason"] as? String ?? "").contains("HTTP 400"))

    // errors.tolerance: none (the default) stops the task with the reason in its status.
    try waitUntil("the strict sink failed", timeout: 30) {
      let task = self.taskStatus(worker, "strict")
      return task?["state"] as? String == "FAILED"
        && (task?["trace"] as? String ?? "").contains("order 3 is invalid")
    }
    XCTAssertNotNil(worker.terminate())
  }

  func testInvalidConfigsAreRejectedWithFileAndLine() throws {
    let crlf = FileManager.default.temporaryDirectory.appendingPathComponent(
      "crlf-\(UUID().uuidString).yaml")
    defer { try? FileManager.default.removeItem(at: crlf) }
    try "name: crlf\nsink: http\ntopics: [t]\nconfig:\n  url: http://127.0.0.1:1/\n  headers: { X-A: \"a\\r\\nX-B: b\" }\n"
      .write(to: crlf, atomically: true, encoding: .utf8)
    let broken = try runSluice(["validate", crlf.path])
    XCTAssertNotEqual(broken.status, 0)
    XCTAssertTrue(broken.stderr.contains("line break"), broken.stderr)

    let worker = try WorkerProcess()
    let file = worker.directory.appendingPathComponent("bad-http.yaml")
    try """
    name: bad-http
    sink: http
    topics: [t]
    config:
      url: "http://127.0.0.1:1/{key}"
      batch: { max_records: 10 }
    """.write(to: file, atomically: true, encoding: .utf8)
    let result = try runSluice(["validate", file.path])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderr.contains("bad-http.yaml:5:"), result.stderr)
    XCTAssertTrue(result.stderr.contains("only {topic} and {partition}"), result.stderr)
  }

  /// 20,000 records, the worker SIGKILLed at least 5 times while it delivers them: every record
  /// reaches the receiver, and its set de-duplicated by Idempotency-Key equals the topic.
  func testEveryRecordReachesTheReceiverAcrossRepeatedSIGKILL() throws {
    try everyRecordReachesTheReceiverAcrossRepeatedSIGKILL(cluster: nil)
  }

  /// The same with the topic on a Kafka cluster (`store: kafka`, Sluice's own listener as the
  /// cluster): the sink is the consumer group `connect-crash-http` and commits its offsets
  /// after delivery; idempotency keys name the records' offsets on the cluster.
  func testEveryRecordReachesTheReceiverAcrossRepeatedSIGKILLOnKafka() throws {
    let cluster = try BrokerProcess(.sluice)
    try cluster.start()
    defer { cluster.stop() }
    try everyRecordReachesTheReceiverAcrossRepeatedSIGKILL(cluster: cluster)
  }

  private func everyRecordReachesTheReceiverAcrossRepeatedSIGKILL(cluster: BrokerProcess?) throws {
    let receiver = try HTTPReceiver.start()
    let worker = try WorkerProcess(
      workerYAMLExtra: cluster.map { "store: { kind: kafka, bootstrap: [\($0.address)] }" } ?? "")
    let input = worker.directory.appendingPathComponent("lines.txt")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    try worker.writeConnector(
      "crash-in",
      "name: crash-in\nsource: file\ntopic: crash\nconfig: { path: \(input.path), poll_ms: 20 }\n")
    try worker.writeConnector(
      "crash-http",
      """
      name: crash-http
      sink: http
      topics: [crash]
      config: { url: "\(receiver.url)/crash", max_in_flight: 16 }
      """)
    try worker.start()
    let total = 20_000
    let writer = LineWriter(url: input, total: total, linesPerChunk: 1000, pause: 0.25)
    writer.start()
    let crashes = try CrashLoop(atLeast: 6, pauses: 0.2...0.8)
      .run(worker, while: { !writer.finished }, busy: { receiver.deliveredByKey.count < total })
    XCTAssertGreaterThanOrEqual(crashes.whileBusy, 5, "kills while records were in flight")
    receiver.wait(timeout: 120) { _ in receiver.deliveredByKey.count >= total }

    let topic = try worker.records("crash")
    XCTAssertEqual(topic.count, total)
    let delivered = receiver.deliveredByKey
    XCTAssertEqual(
      Set(delivered.keys), Set(topic.map { "crash-http:crash:0:\($0["offset"] as! Int)" }))
    for record in topic {
      let key = "crash-http:crash:0:\(record["offset"] as! Int)"
      let body = delivered[key]?.first?.bodyText
      XCTAssertEqual(body.flatMap { json($0) as? String }, record["value"] as? String, key)
    }
    let requests = delivered.values.reduce(0) { $0 + $1.count }
    print(
      "HTTP sink crash test\(cluster == nil ? "" : " on Kafka"): \(crashes.kills) kills, \(total) records, \(requests) accepted requests, \(requests - delivered.count) repeated (same Idempotency-Key)"
    )
    XCTAssertNotNil(worker.terminate())
  }
}

extension HTTPSinkWorkerTests {
  /// A test CA and a certificate for 127.0.0.1 signed by it, made with openssl.
  func makeCertificates(in directory: URL) throws -> (ca: String, cert: String, key: String) {
    let d = directory.path
    let script = """
      set -e
      cd '\(d)'
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=Sluice Test CA' 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1' 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf 2>/dev/null
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw WorkerError("openssl failed") }
    return ("\(d)/ca.pem", "\(d)/server.pem", "\(d)/server.key")
  }

  /// HTTPS with a test CA: `tls.ca` trusts it (and HTTP/2 is used, as the server offers it),
  /// no CA fails verification into the DLQ, `insecure: true` skips verification.
  func testHTTPSWithATestCAUsesHTTP2AndVerifiesTheServer() throws {
    let worker = try WorkerProcess()
    let files = try makeCertificates(in: worker.directory)
    let tls = TLSConfiguration.makeServerConfiguration(
      certificateChain: try NIOSSLCertificate.fromPEMFile(files.cert).map { .certificate($0) },
      privateKey: .privateKey(try NIOSSLPrivateKey(file: files.key, format: .pem)))
    let receiver = try HTTPReceiver.start(tls: tls)
    let https = "https://127.0.0.1:\(receiver.port)"
    try worker.writeConnector(
      "trusting",
      """
      name: trusting
      sink: http
      topics: [secure]
      config: { url: "\(https)/trusting", tls: { ca: "\(files.ca)" } }
      """)
    try worker.writeConnector(
      "careless",
      """
      name: careless
      sink: http
      topics: [secure]
      config: { url: "\(https)/careless", tls: { insecure: true } }
      """)
    try worker.writeConnector(
      "doubting",
      """
      name: doubting
      sink: http
      topics: [secure]
      config: { url: "\(https)/doubting", retry: { max_attempts: 2, backoff_ms: 10 } }
      errors: { tolerance: all, dlq_topic: secure.dlq }
      """)
    try worker.start()
    try produce(worker, "secure", [("k", #"{"secret": true}"#)])
    receiver.wait(timeout: 20) { $0.filter { $0.status == 200 }.count == 2 }
    XCTAssertEqual(Set(receiver.received.map(\.uri)), ["/trusting", "/careless"])
    try waitUntil("the unverified delivery dead-lettered", timeout: 30) {
      ((try? worker.records("secure.dlq")) ?? []).count == 1
    }
    let dead = try XCTUnwrap(worker.records("secure.dlq").first)
    let reason = (dead["headers"] as? [String: Any])?["sluice.error.reason"] as? String ?? ""
    XCTAssertTrue(reason.lowercased().contains("certificate"), reason)
    try waitUntil("the HTTP version in status", timeout: 10) {
      (self.taskStatus(worker, "trusting")?["details"] as? [String: String])?["http_version"] == "2"
    }
    XCTAssertNotNil(worker.terminate())
  }
}
