import Crypto
import Foundation
import SluiceTestBrokers
import XCTest

/// The webhook source against a real worker process and real HTTP.
final class WebhookSourceTests: XCTestCase {
  private func startWorker(_ connectors: [String: String], store: String = "") throws -> (
    WorkerProcess, Int
  ) {
    let worker = try WorkerProcess(workerYAMLExtra: store)
    let port = try WorkerProcess.freePort()
    for (name, yaml) in connectors {
      try worker.writeConnector(name, yaml.replacingOccurrences(of: "PORT", with: "\(port)"))
    }
    try worker.start()
    // The endpoint is up once a request gets anything but a refused connection.
    try waitUntil("webhook endpoint listening") { portIsOpen(port) }
    return (worker, port)
  }

  func testGitHubDocumentationSignatureVector() {
    // From GitHub's "Validating webhook deliveries" documentation.
    let mac = HMAC<SHA256>.authenticationCode(
      for: Data("Hello, World!".utf8),
      using: SymmetricKey(data: Data("It's a Secret to Everybody".utf8)))
    XCTAssertEqual(hex(mac), "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
  }

  func testSignaturesKeysHeadersAndRouting() throws {
    let (worker, port) = try startWorker([
      "gh": """
      name: gh
      source: webhook
      topic: github.{header:X-GitHub-Event}
      config:
        listen: 127.0.0.1:PORT
        path: /hooks/github
        key: json:/repository/full_name
        headers: [X-GitHub-Event]
        signature: { type: github, secret: "It's a Secret to Everybody" }
      """,
      "stripe": """
      name: stripe
      source: webhook
      topic: stripe.{json:/type}
      config:
        listen: 127.0.0.1:PORT
        path: /hooks/stripe
        signature: { type: stripe, secret: whsec_test, tolerance: 5m }
      """,
      "generic": """
      name: generic
      source: webhook
      topic: devices
      config:
        listen: 127.0.0.1:PORT
        path: /hooks/generic
        key: header:X-Device-Id
        signature: { type: hmac-sha256, secret: k, header: X-Sig, prefix: "v0=" }
      """,
      "bearer":
        "name: bearer\nsource: webhook\ntopic: b\nconfig: { listen: 127.0.0.1:PORT, path: /b, signature: { type: bearer, token: t0k } }\n",
      "basic":
        "name: basic\nsource: webhook\ntopic: c\nconfig: { listen: 127.0.0.1:PORT, path: /c, content: raw, signature: { type: basic, username: u, password: p } }\n",
    ])
    let base = "http://127.0.0.1:\(port)"

    // GitHub: X-Hub-Signature-256 over the raw body.
    let push = Data(#"{"repository":{"full_name":"octo/hello"},"ref":"main"}"#.utf8)
    let ghSignature =
      "sha256="
      + hex(
        HMAC<SHA256>.authenticationCode(
          for: push, using: SymmetricKey(data: Data("It's a Secret to Everybody".utf8))))
    var r = httpRequest(
      "POST", base + "/hooks/github",
      headers: [
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-Hub-Signature-256": ghSignature, "X-Secret-Header": "no",
      ], body: push)
    XCTAssertEqual(r.status, 200, String(decoding: r.body, as: UTF8.self))
    let answer = try JSONSerialization.jsonObject(with: r.body) as? [String: Any]
    XCTAssertEqual(answer?["topic"] as? String, "github.push")
    XCTAssertEqual(answer?["partition"] as? Int, 0)
    XCTAssertEqual(answer?["offset"] as? Int, 0)
    r = httpRequest(
      "POST", base + "/hooks/github",
      headers: [
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-Hub-Signature-256": "sha256=00",
      ], body: push)
    XCTAssertEqual(r.status, 401)
    r = httpRequest(
      "POST", base + "/hooks/github",
      headers: ["Content-Type": "application/json", "X-GitHub-Event": "push"], body: push)
    XCTAssertEqual(r.status, 401)
    XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("missing X-Hub-Signature-256"))
    let stored = try worker.records("github.push")
    XCTAssertEqual(stored.count, 1)
    XCTAssertEqual(stored.first?["key"] as? String, "octo/hello")
    let headers = stored.first?["headers"] as? [String: String] ?? [:]
    XCTAssertEqual(headers["x-github-event"], "push", "allow-listed header kept")
    XCTAssertNil(headers["x-secret-header"], "headers off the allow-list are dropped")
    XCTAssertEqual(headers["content-type"], "application/json")
    XCTAssertEqual(headers["webhook.path"], "/hooks/github")
    XCTAssertNotNil(headers["webhook.received_ms"].flatMap(Int64.init))

    // Stripe: t=…,v1=HMAC("t.body"), within the tolerance.
    let event = Data(#"{"id":"evt_1","type":"charge.succeeded"}"#.utf8)
    let now = Int(Date().timeIntervalSince1970)
    func stripeHeader(_ t: Int) -> String {
      "t=\(t),v1="
        + hex(
          HMAC<SHA256>.authenticationCode(
            for: Data("\(t).".utf8) + event, using: SymmetricKey(data: Data("whsec_test".utf8))))
    }
    r = httpRequest(
      "POST", base + "/hooks/stripe",
      headers: ["Content-Type": "application/json", "Stripe-Signature": stripeHeader(now)],
      body: event)
    XCTAssertEqual(r.status, 200, String(decoding: r.body, as: UTF8.self))
    XCTAssertEqual(
      (try JSONSerialization.jsonObject(with: r.body) as? [String: Any])?["topic"] as? String,
      "stripe.charge.succeeded")
    r = httpRequest(
      "POST", base + "/hooks/stripe",
      headers: ["Content-Type": "application/json", "Stripe-Signature": stripeHeader(now - 3600)],
      body: event)
    XCTAssertEqual(r.status, 401, "an hour-old timestamp is outside the tolerance")

    // Generic header/prefix form, key from a header.
    let reading = Data(#"{"t":21.5}"#.utf8)
    let sig =
      "v0="
      + hex(
        HMAC<SHA256>.authenticationCode(for: reading, using: SymmetricKey(data: Data("k".utf8))))
    r = httpRequest(
      "POST", base + "/hooks/generic",
      headers: ["Content-Type": "application/json", "X-Sig": sig, "X-Device-Id": "dev-7"],
      body: reading)
    XCTAssertEqual(r.status, 200)
    XCTAssertEqual(try worker.records("devices").first?["key"] as? String, "dev-7")

    // Bearer and basic.
    XCTAssertEqual(
      httpRequest(
        "POST", base + "/b",
        headers: ["Content-Type": "application/json", "Authorization": "Bearer t0k"],
        body: Data("{}".utf8)
      ).status, 200)
    XCTAssertEqual(
      httpRequest(
        "POST", base + "/b",
        headers: ["Content-Type": "application/json", "Authorization": "Bearer nope"],
        body: Data("{}".utf8)
      ).status, 401)
    let basic = "Basic " + Data("u:p".utf8).base64EncodedString()
    XCTAssertEqual(
      httpRequest(
        "POST", base + "/c", headers: ["Authorization": basic], body: Data("raw bytes".utf8)
      ).status, 200)
    XCTAssertEqual(
      httpRequest(
        "POST", base + "/c",
        headers: ["Authorization": "Basic " + Data("u:x".utf8).base64EncodedString()],
        body: Data("x".utf8)
      ).status, 401)
    XCTAssertEqual(try worker.records("c").first?["value"] as? String, "raw bytes")
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testEachErrorCodeWritesNothing() throws {
    let (worker, port) = try startWorker([
      "strict": """
      name: strict
      source: webhook
      topic: events.{json:/kind}
      config: { listen: 127.0.0.1:PORT, path: /in, max_body: 1KiB }
      """
    ])
    let url = "http://127.0.0.1:\(port)/in"
    let json = ["Content-Type": "application/json"]
    let cases: [(String, String, [String: String], Data, Int, String)] = [
      ("malformed JSON", "POST", json, Data(#"{"kind": "a",, }"#.utf8), 400, "error at byte 13"),
      ("unsafe topic", "POST", json, Data(#"{"kind":"../etc"}"#.utf8), 400, "'/' is not allowed"),
      ("empty topic", "POST", json, Data(#"{"other":1}"#.utf8), 400, "no value for '{json:/kind}'"),
      ("unknown path", "POST", json, Data("{}".utf8), 404, "no webhook at /elsewhere"),
      ("wrong method", "PUT", json, Data(#"{"kind":"a"}"#.utf8), 405, "PUT is not accepted here"),
      (
        "too large", "POST", json,
        Data(("{\"kind\":\"a\",\"pad\":\"" + String(repeating: "x", count: 2000) + "\"}").utf8),
        413, "larger than max_body"
      ),
      (
        "wrong content type", "POST", ["Content-Type": "text/plain"], Data(#"{"kind":"a"}"#.utf8),
        415, "expected Content-Type application/json"
      ),
    ]
    for (what, method, headers, body, status, reason) in cases {
      let target = what == "unknown path" ? "http://127.0.0.1:\(port)/elsewhere" : url
      let r = httpRequest(method, target, headers: headers, body: body)
      XCTAssertEqual(r.status, status, what)
      let object = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any]
      XCTAssertEqual(object?["error_code"] as? Int, status, what)
      XCTAssertTrue(
        (object?["message"] as? String ?? "").contains(reason),
        "\(what): \(String(decoding: r.body, as: UTF8.self))")
    }
    let topics = try worker.getJSON("/topics") as? [[String: Any]] ?? []
    XCTAssertTrue(topics.isEmpty, "no request above wrote anything: \(topics)")
    // The endpoint still works after all that.
    XCTAssertEqual(
      httpRequest("POST", url, headers: json, body: Data(#"{"kind":"ok"}"#.utf8)).status, 200)
    XCTAssertEqual(try worker.records("events.ok").count, 1)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testFullQueueAnswers429WithRetryAfter() throws {
    let (worker, port) = try startWorker([
      "narrow":
        "name: narrow\nsource: webhook\ntopic: n\nconfig: { listen: 127.0.0.1:PORT, path: /n, max_pending: 1 }\n"
    ])
    let statuses = StatusCollector()
    DispatchQueue.concurrentPerform(iterations: 64) { i in
      let r = httpRequest(
        "POST", "http://127.0.0.1:\(port)/n", headers: ["Content-Type": "application/json"],
        body: Data("{\"i\":\(i)}".utf8))
      statuses.add(r.status, retryAfter: r.headers["retry-after"])
    }
    let (counts, retryAfter) = statuses.result
    XCTAssertGreaterThan(counts[429, default: 0], 0, "\(counts)")
    XCTAssertEqual(retryAfter, "1")
    XCTAssertEqual(counts[200, default: 0] + counts[429, default: 0], 64, "\(counts)")
    XCTAssertEqual(
      try worker.records("n").count, counts[200, default: 0], "only accepted requests wrote")
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testAStoreThatCannotWriteAnswers503AndTheWorkerRecovers() throws {
    // The data dir on a 3 MiB tmpfs (tests run as root under `make test`): it fills up.
    let worker = try WorkerProcess()
    let data = worker.directory.appendingPathComponent("data")
    try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    try runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", data.path])
    defer { try? runTool("/bin/umount", ["-l", data.path]) }
    let port = try WorkerProcess.freePort()
    try worker.writeConnector(
      "full",
      "name: full\nsource: webhook\ntopic: full\nconfig: { listen: 127.0.0.1:\(port), path: /f, content: raw }\n"
    )
    try worker.start()
    try waitUntil("webhook endpoint listening") { portIsOpen(port) }
    let url = "http://127.0.0.1:\(port)/f"
    let headers = ["Content-Type": "application/octet-stream"]
    let body = Data(repeating: UInt8(ascii: "x"), count: 200_000)

    var statuses: [Int] = []
    var refusal: (headers: [String: String], body: Data)?
    for _ in 0..<30 {
      let answer = httpRequest("POST", url, headers: headers, body: body)
      statuses.append(answer.status)
      if answer.status == 503 { refusal = (answer.headers, answer.body) }
    }
    let accepted = statuses.filter { $0 == 200 }.count
    XCTAssertGreaterThan(accepted, 0, "\(statuses)")
    XCTAssertEqual(statuses.filter { $0 != 200 && $0 != 503 }, [], "\(statuses)")
    let refused = try XCTUnwrap(refusal, "no 503 once the disk was full: \(statuses)")
    XCTAssertEqual(refused.headers["retry-after"], "1")
    let error = try XCTUnwrap(JSONSerialization.jsonObject(with: refused.body) as? [String: Any])
    XCTAssertEqual(error["error_code"] as? Int, 503)
    XCTAssertTrue(
      (error["message"] as? String)?.contains("No space left") == true, "\(error)")
    XCTAssertEqual(try worker.records("full").count, accepted, "only the 2xx requests wrote")

    // Room again: the same worker, never restarted, takes writes and keeps the old ones.
    try runTool("/bin/mount", ["-o", "remount,size=16m", data.path])
    XCTAssertEqual(httpRequest("POST", url, headers: headers, body: body).status, 200)
    XCTAssertEqual(try worker.records("full").count, accepted + 1)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testPipelinedRequestsOnOneKeptAliveConnectionAreAnsweredInOrder() throws {
    let (worker, port) = try startWorker([
      "pipe":
        "name: pipe\nsource: webhook\ntopic: pipe\nconfig: { listen: 127.0.0.1:PORT, path: /p }\n"
    ])
    let fd = try XCTUnwrap(connectToLoopback(port))
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

    // Three requests in one write, without waiting for any answer.
    var requests = ""
    for i in 0..<3 {
      let body = #"{"i":\#(i)}"#
      requests +=
        "POST /p HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }
    let bytes = Array(requests.utf8)
    XCTAssertEqual(bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }, bytes.count)
    var received = ""
    var buffer = [UInt8](repeating: 0, count: 4096)
    while received.components(separatedBy: "\"offset\"").count - 1 < 3 {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      guard n > 0 else { break }
      received += String(decoding: buffer[0..<n], as: UTF8.self)
    }
    XCTAssertEqual(received.components(separatedBy: "HTTP/1.1 200").count - 1, 3, received)
    XCTAssertFalse(received.lowercased().contains("connection: close"), received)
    let offsets = received.components(separatedBy: "\"offset\":").dropFirst().map {
      Int($0.prefix { $0.isNumber }) ?? -1
    }
    XCTAssertEqual(offsets, [0, 1, 2], "answers in request order")
    XCTAssertEqual(
      try worker.records("pipe").compactMap { ($0["value"] as? [String: Any])?["i"] as? Int },
      [0, 1, 2])
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testDedupeAnswersTheFirstResultAlsoAfterARestart() throws {
    let (worker, port) = try startWorker([
      "once":
        "name: once\nsource: webhook\ntopic: once\nconfig: { listen: 127.0.0.1:PORT, path: /once, dedupe: { header: Idempotency-Key, window: 24h } }\n"
    ])
    let url = "http://127.0.0.1:\(port)/once"
    let headers = ["Content-Type": "application/json", "Idempotency-Key": "k-1"]
    let first = httpRequest("POST", url, headers: headers, body: Data(#"{"n":1}"#.utf8))
    XCTAssertEqual(first.status, 200)
    let again = httpRequest("POST", url, headers: headers, body: Data(#"{"n":1}"#.utf8))
    XCTAssertEqual(again.body, first.body)
    XCTAssertEqual(again.headers["idempotent-replayed"], "true")

    worker.kill9()
    try worker.start()
    // 503 while the dedupe index is rebuilt from the topics.
    try waitUntil("endpoint back") { ![0, 503].contains(httpRequest("GET", url).status) }
    let afterRestart = httpRequest("POST", url, headers: headers, body: Data(#"{"n":1}"#.utf8))
    XCTAssertEqual(afterRestart.status, 200)
    XCTAssertEqual(afterRestart.body, first.body, "the first answer, from the rebuilt index")
    XCTAssertEqual(
      httpRequest(
        "POST", url, headers: ["Content-Type": "application/json", "Idempotency-Key": "k-2"],
        body: Data("{}".utf8)
      ).status, 200)
    XCTAssertEqual(try worker.records("once").count, 2)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testHTTP2CleartextWithPriorKnowledge() throws {
    let (worker, port) = try startWorker([
      "h2":
        "name: h2\nsource: webhook\ntopic: h2\nconfig: { listen: 127.0.0.1:PORT, path: /h2, protocol: h2c }\n"
    ])
    let curl = Process()
    curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    curl.arguments = [
      "-s", "--http2-prior-knowledge", "-X", "POST", "-H", "Content-Type: application/json", "-d",
      #"{"over":"h2"}"#,
      "-w", "\n%{http_version} %{http_code}", "http://127.0.0.1:\(port)/h2",
    ]
    let out = Pipe()
    curl.standardOutput = out
    try curl.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    curl.waitUntilExit()
    XCTAssertTrue(text.hasSuffix("2 200"), text)
    XCTAssertTrue(text.contains(#""topic":"h2""#), text)
    XCTAssertEqual(try worker.records("h2").count, 1)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  /// 20,000 requests with unique idempotency keys while the worker is SIGKILLed at random
  /// moments; the client retries every request without a 2xx. Every key ends up in the topic
  /// exactly once.
  func testEveryAcknowledgedKeyIsStoredOnceAcrossRepeatedSIGKILL() throws {
    try everyAcknowledgedKeyIsStoredOnceAcrossRepeatedSIGKILL(total: 20_000, cluster: nil)
  }

  /// The same with the topic on a Kafka cluster (`store: kafka`, Sluice's own listener on a
  /// second worker): a request is answered once its record is in a committed transaction, which
  /// concurrent requests share.
  func testEveryAcknowledgedKeyIsStoredOnceAcrossRepeatedSIGKILLOnKafka() throws {
    let cluster = try BrokerProcess(.sluice)
    try cluster.start()
    defer { cluster.stop() }
    try everyAcknowledgedKeyIsStoredOnceAcrossRepeatedSIGKILL(total: 5_000, cluster: cluster)
  }

  /// End to end on Tansu as the cluster: 500 requests from 8 clients, each acknowledged once
  /// its record is committed, each record once as librdkafka reads the topic read_committed.
  func testAcknowledgedRequestsReachATansuClusterOnce() throws {
    let cluster = try BrokerProcess(.tansu)
    try cluster.start()
    defer { cluster.stop() }
    let (worker, port) = try startWorker(
      ["hooks": "name: hooks\nsource: webhook\ntopic: hooks\nconfig: { listen: 127.0.0.1:PORT, path: /in }\n"],
      store: "store: { kind: kafka, bootstrap: [\(cluster.address)] }")
    let total = 500
    let clients = ClientPool(total: total, threads: 8) { key in
      let r = httpRequest(
        "POST", "http://127.0.0.1:\(port)/in", headers: ["Content-Type": "application/json"],
        body: Data("{\"key\":\(key)}".utf8), timeout: 10)
      return (200..<300).contains(r.status)
    }
    clients.start()
    try waitUntil("every request acknowledged", timeout: 120) { clients.finished }
    XCTAssertEqual(clients.acknowledged, total)
    let keys = try cluster.committedRecords("hooks").compactMap {
      ($0["value"] as? [String: Any])?["key"] as? Int
    }
    XCTAssertEqual(keys.count, total, "records librdkafka reads")
    XCTAssertEqual(Set(keys), Set(0..<total))
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  private func everyAcknowledgedKeyIsStoredOnceAcrossRepeatedSIGKILL(
    total: Int, cluster: BrokerProcess?
  ) throws {
    let store = cluster.map { "store: { kind: kafka, bootstrap: [\($0.address)] }" } ?? ""
    let (worker, port) = try startWorker(
      [
        "crash":
          "name: crash\nsource: webhook\ntopic: crash\nconfig: { listen: 127.0.0.1:PORT, path: /in, dedupe: { header: Idempotency-Key, window: 1h } }\n"
      ], store: store)
    let clients = ClientPool(total: total, threads: 24) { key in
      let r = httpRequest(
        "POST", "http://127.0.0.1:\(port)/in",
        headers: ["Content-Type": "application/json", "Idempotency-Key": "key-\(key)"],
        body: Data("{\"key\":\(key),\"pad\":\"\(String(repeating: "p", count: 100))\"}".utf8),
        timeout: 5)
      return (200..<300).contains(r.status)
    }
    clients.start()
    let crashes = try CrashLoop(atLeast: 6, pauses: 0.3...1.5)
      .run(worker, while: { !clients.finished }, busy: { !clients.finished })
    while !clients.finished { Thread.sleep(forTimeInterval: 0.1) }
    XCTAssertGreaterThanOrEqual(crashes.whileBusy, 5, "kills while clients were posting")
    XCTAssertEqual(clients.acknowledged, total)

    let keys = try worker.records("crash").compactMap {
      ($0["headers"] as? [String: String])?["webhook.idempotency_key"]
    }
    var seen: [String: Int] = [:]
    for key in keys { seen[key, default: 0] += 1 }
    XCTAssertEqual(seen.count, total, "every acknowledged key is stored")
    XCTAssertEqual(seen.values.filter { $0 > 1 }.count, 0, "no key is stored twice")
    XCTAssertGreaterThan(clients.retries, 0, "the kills interrupted requests")
    if let cluster {
      // librdkafka, reading the cluster read_committed, sees each request's body once.
      let bodies = try cluster.committedRecords("crash").compactMap {
        ($0["value"] as? [String: Any])?["key"] as? Int
      }
      XCTAssertEqual(bodies.count, total, "records librdkafka reads")
      XCTAssertEqual(Set(bodies), Set(0..<total), "keys librdkafka reads")
    }
    XCTAssertEqual(worker.terminate()?.status, 0)
  }
}

func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
  bytes.map { String(format: "%02x", $0) }.joined()
}

func hex(_ mac: HashedAuthenticationCode<SHA256>) -> String { hex(Array(mac)) }

/// Counts statuses from many threads.
final class StatusCollector: @unchecked Sendable {
  // All state guarded by `lock`.
  private let lock = NSLock()
  private var counts: [Int: Int] = [:]
  private var retryAfter: String?

  func add(_ status: Int, retryAfter value: String?) {
    lock.withLock {
      counts[status, default: 0] += 1
      if status == 429 { retryAfter = value }
    }
  }

  var result: ([Int: Int], String?) { lock.withLock { (counts, retryAfter) } }
}

/// Threads that each take the next key and send it until it is acknowledged.
final class ClientPool: @unchecked Sendable {
  // All mutable state guarded by `lock`.
  private let lock = NSLock()
  private var next = 0
  private var done = 0
  private var retryCount = 0
  private var running: Int
  private let total: Int
  private let send: @Sendable (Int) -> Bool

  init(total: Int, threads: Int, send: @escaping @Sendable (Int) -> Bool) {
    self.total = total
    self.running = threads
    self.send = send
  }

  func start() {
    for _ in 0..<running {
      Thread.detachNewThread { [self] in
        while let key = take() {
          while !send(key) {
            lock.withLock { retryCount += 1 }
            Thread.sleep(forTimeInterval: 0.05)
          }
          lock.withLock { done += 1 }
        }
        lock.withLock { running -= 1 }
      }
    }
  }

  private func take() -> Int? {
    lock.withLock {
      guard next < total else { return nil }
      defer { next += 1 }
      return next
    }
  }

  var finished: Bool { lock.withLock { running == 0 } }
  var acknowledged: Int { lock.withLock { done } }
  var retries: Int { lock.withLock { retryCount } }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func portIsOpen(_ port: Int) -> Bool {
  guard let fd = connectToLoopback(port) else { return false }
  close(fd)
  return true
}

/// A TCP socket connected to 127.0.0.1:`port`, or nil when nothing accepts there.
func connectToLoopback(_ port: Int) -> Int32? {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = UInt16(port).bigEndian
  let connected = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
    }
  }
  guard connected else {
    close(fd)
    return nil
  }
  return fd
}

/// Runs a system tool to completion; throws when it exits non-zero.
func runTool(_ path: String, _ arguments: [String]) throws {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  let err = Pipe()
  process.standardError = err
  try process.run()
  let message = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    throw WorkerError(
      "\(path) \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
  }
}
