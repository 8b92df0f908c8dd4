import Foundation
import XCTest

/// Issue 19's crash classes at the process level: input from outside (a webhook request, an API
/// body, a config value, a stored record, a file line) gets a clear answer and the worker lives.
/// Each test fails without its fix: the worker traps, grows without bound, or stops a connector.
final class OutsideInputTests: XCTestCase {
  func testExtremeStripeTimestampIs401AndTheWorkerLives() throws {
    let worker = try WorkerProcess()
    let port = try WorkerProcess.freePort()
    try worker.writeConnector(
      "stripe",
      "name: stripe\nsource: webhook\ntopic: s\nconfig: { listen: 127.0.0.1:\(port), path: /s, signature: { type: stripe, secret: k } }\n"
    )
    try worker.start()
    try waitForListener(port, path: "/s")
    for t in ["-9223372036854775808", "9223372036854775807", "-9223372036854775807"] {
      let r = httpRequest(
        "POST", "http://127.0.0.1:\(port)/s",
        headers: ["Content-Type": "application/json", "Stripe-Signature": "t=\(t),v1=00"],
        body: Data("{}".utf8))
      XCTAssertEqual(r.status, 401, "t=\(t): \(String(decoding: r.body, as: UTF8.self))")
      XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("tolerance"))
    }
    XCTAssertEqual(try worker.get("/connectors").status, 200, "the worker is alive")
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testProduceAPIRefusesWrongTypesAndOutOfRangeValuesWith400() throws {
    let worker = try WorkerProcess()
    try worker.start()
    let bad: [(String, String)] = [
      (#"{"records":[{"value":"x","partition":true}]}"#, "partition must be"),
      (#"{"records":[{"value":"x","partition":1.5}]}"#, "partition must be"),
      (#"{"records":[{"value":"x","partition":"0"}]}"#, "partition must be"),
      (#"{"records":[{"value":"x","partition":-1}]}"#, "partition must be"),
      (#"{"records":[{"value":"x","timestamp":-9223372036854775808}]}"#, "timestamp must be"),
      (#"{"records":[{"value":"x","timestamp":9223372036854775807}]}"#, "timestamp must be"),
      (#"{"records":[{"value":"x","timestamp":1e300}]}"#, "timestamp must be"),
      (#"{"records":[{"value":"x","timestamp":true}]}"#, "timestamp must be"),
      (#"{"records":[{"value":"x","headers":{"h":1}}]}"#, "headers.h must be a string"),
      (#"{"records":[{"value_b64":7}]}"#, "value_b64 must be base64"),
    ]
    for (body, reason) in bad {
      let (status, answer) = try worker.post("/topics/t/records", json: body)
      let text = String(decoding: answer, as: UTF8.self)
      XCTAssertEqual(status, 400, "\(body): \(text)")
      XCTAssertTrue(text.contains(reason), "\(body): \(text)")
    }
    // An invalid chunk size is the client's fault (400), not a body that is too large (413).
    let chunked = try RawConnection(port: worker.port)
    try chunked.send(
      "POST /topics/t/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    )
    let answer400 = chunked.receive()
    XCTAssertTrue(answer400.hasPrefix("HTTP/1.1 400"), answer400)
    XCTAssertTrue(answer400.contains("chunk size"), answer400)
    // A 503 says when to come back (Retry-After) — checked in AdminAPITests.
    // Far-apart timestamps inside the range are one valid batch.
    let (status, answer) = try worker.post(
      "/topics/t/records",
      json: #"{"records":[{"value":"a","timestamp":0},{"value":"b","timestamp":253402300799999}]}"#)
    XCTAssertEqual(status, 200, String(decoding: answer, as: UTF8.self))
    XCTAssertEqual(
      try worker.records("t").map { $0["timestamp"] as? Int }, [0, 253_402_300_799_999])
    // JSON values keep their text, without insignificant whitespace.
    XCTAssertEqual(
      try worker.post("/topics/j/records", json: #"{"records":[{"value": { "a" : [1, "x y"] }}]}"#)
        .status, 200)
    let stored = try worker.getJSON("/topics/j/records?offset=0") as? [[String: Any]]
    XCTAssertEqual(
      (stored?.first?["value"] as? [String: Any]).map { NSDictionary(dictionary: $0) },
      NSDictionary(dictionary: ["a": [1, "x y"]]))
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testProduceRequestOfTinyRecordsIsBoundedInCountAndMemory() throws {
    let worker = try WorkerProcess()
    try worker.start()
    // 15 MB of one-byte records: over a million of them. Before, their boxed JSON took GBs.
    var body = #"{"records":["#
    let item = #"{"value":1},"#
    body.reserveCapacity(15_000_100)
    while body.utf8.count < 15_000_000 { body += item }
    body += #"{"value":1}]}"#
    let (status, answer) = try worker.post("/topics/tiny/records", json: body)
    XCTAssertEqual(status, 413, String(decoding: answer.prefix(300), as: UTF8.self))
    XCTAssertTrue(String(decoding: answer, as: UTF8.self).contains("at most 10000"))
    let peak = try peakResidentMiB(of: worker)
    XCTAssertLessThan(peak, 400, "peak RSS \(peak) MiB for a 15 MB request")
    XCTAssertEqual(try worker.records("tiny").count, 0, "nothing was written")
    // The most a request may carry is accepted.
    let most = "[" + Array(repeating: #"{"value":1}"#, count: 10_000).joined(separator: ",") + "]"
    XCTAssertEqual(try worker.post("/topics/tiny/records", json: most).status, 200)
    XCTAssertEqual(try worker.records("tiny").count, 10_000)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testStoredRecordWithExtremeTimestampDoesNotStopADedupeWebhookFromStarting() throws {
    let worker = try WorkerProcess()
    // A record written by an older version or damaged on disk: a valid batch whose only record
    // has the timestamp Int64.min. The dedupe rebuild used to trap on it at every start.
    let partition = worker.directory.appendingPathComponent("data/log/topics/old/0")
    try FileManager.default.createDirectory(at: partition, withIntermediateDirectories: true)
    try Data(recordBatch(timestamp: .min, value: Array("old".utf8))).write(
      to: partition.appendingPathComponent("00000000000000000000.log"))
    // And a batch whose checksum holds but whose record claims 2^40 headers: start-up accepts
    // it (it checks batches, not records), reading it fails, and the rebuild must go on.
    let broken = worker.directory.appendingPathComponent("data/log/topics/broken/0")
    try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
    try Data(recordBatch(timestamp: 1, value: [], headerCount: 1 << 40)).write(
      to: broken.appendingPathComponent("00000000000000000000.log"))
    let port = try WorkerProcess.freePort()
    try worker.writeConnector(
      "hooks",
      "name: hooks\nsource: webhook\ntopic: h\nconfig: { listen: 127.0.0.1:\(port), path: /h, dedupe: { header: Idempotency-Key, max_key_bytes: 64 } }\n"
    )
    try worker.start()
    try waitForListener(port)
    let url = "http://127.0.0.1:\(port)/h"
    let json = ["Content-Type": "application/json"]
    let first = httpRequest(
      "POST", url, headers: json.merging(["Idempotency-Key": "k1"]) { a, _ in a },
      body: Data("{}".utf8))
    XCTAssertEqual(first.status, 200, String(decoding: first.body, as: UTF8.self))
    let again = httpRequest(
      "POST", url, headers: json.merging(["Idempotency-Key": "k1"]) { a, _ in a },
      body: Data("{}".utf8))
    XCTAssertEqual(again.headers["idempotent-replayed"], "true")
    let long = httpRequest(
      "POST", url,
      headers: json.merging(["Idempotency-Key": String(repeating: "k", count: 65)]) { a, _ in a },
      body: Data("{}".utf8))
    XCTAssertEqual(long.status, 400)
    XCTAssertTrue(String(decoding: long.body, as: UTF8.self).contains("max_key_bytes"))
    XCTAssertEqual(try worker.records("h").count, 1)
    XCTAssertEqual(try worker.records("old").first?["value"] as? String, "old")
    XCTAssertTrue(
      worker.log().contains("skipped a partition it cannot read: broken/0"), worker.log())
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testOutOfRangeDurationsAndSizesAreConfigErrorsAtStartValidateAndReload() throws {
    let worker = try WorkerProcess()
    let good =
      "name: tail\nsource: file\ntopic: lines\nconfig: { path: \(worker.directory.path)/in.txt, poll_ms: 50ms }\n"
    for value in ["1e300d", "infms", "nan", "inf", "1e30"] {
      let bad =
        "name: tail\nsource: file\ntopic: lines\nconfig:\n  path: /tmp/x\n  poll_ms: \(value)\n"
      let file = worker.directory.appendingPathComponent("bad.yaml")
      try bad.write(to: file, atomically: true, encoding: .utf8)
      let result = try runSluice(["validate", file.path])
      XCTAssertEqual(result.status, 1, "\(value): \(result.stdout) \(result.stderr)")
      XCTAssertTrue(
        (result.stdout + result.stderr).contains("bad.yaml:6"), "\(value): \(result.stderr)")
    }
    // At start: one clear message, exit 1.
    try worker.writeConnector("tail", good.replacingOccurrences(of: "50ms", with: "1e300d"))
    let start = try runSluice([
      "run", "--config", worker.directory.appendingPathComponent("worker.yaml").path,
    ])
    XCTAssertEqual(start.status, 1, start.stderr)
    XCTAssertTrue(start.stderr.contains("tail.yaml:4"), start.stderr)
    XCTAssertTrue(start.stderr.contains("larger than the largest allowed"), start.stderr)
    // On hot reload: the running connector is left alone.
    try "a\n".write(
      to: worker.directory.appendingPathComponent("in.txt"), atomically: true, encoding: .utf8)
    try worker.writeConnector("tail", good)
    try worker.start()
    try waitUntil("the first line") { try worker.records("lines").count == 1 }
    try worker.writeConnector("tail", good.replacingOccurrences(of: "50ms", with: "infms"))
    try waitUntil("the invalid change in the status") {
      let status = try? worker.getJSON("/connectors/tail/status") as? [String: Any]
      return ((status?["connector"] as? [String: Any])?["trace"] as? String)?.contains(
        "config not applied") == true
    }
    let handle = try FileHandle(forWritingTo: worker.directory.appendingPathComponent("in.txt"))
    handle.seekToEndOfFile()
    handle.write(Data("b\n".utf8))
    try handle.close()
    try waitUntil("two lines") { try worker.records("lines").count == 2 }
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testOverlongFileLineGoesToTheDeadLetterTopicAndTheNextLinesArrive() throws {
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("in.txt")
    let long = String(repeating: "x", count: 3 << 20)
    try "first\n\(long)\nthird\n".write(to: input, atomically: true, encoding: .utf8)
    try worker.writeConnector(
      "tail",
      "name: tail\nsource: file\ntopic: lines\nconfig: { path: \(input.path), poll_ms: 50ms }\nerrors: { tolerance: all, dlq_topic: lines.dlq }\n"
    )
    try worker.writeConnector(
      "strict",
      "name: strict\nsource: file\ntopic: strict\nconfig: { path: \(input.path), poll_ms: 50ms }\n")
    try worker.start()
    try waitUntil("two lines") { try worker.records("lines").count == 2 }
    XCTAssertEqual(try worker.records("lines").map { $0["value"] as? String }, ["first", "third"])
    let dead = try worker.records("lines.dlq")
    XCTAssertEqual(dead.count, 1)
    let headers = dead.first?["headers"] as? [String: Any]
    XCTAssertTrue(
      (headers?["sluice.error.reason"] as? String ?? "\(headers ?? [:])").contains(
        "longer than max_line_bytes"), "\(headers ?? [:])")
    XCTAssertEqual(headers?["file.line_bytes"] as? String, "\(3 << 20)")
    // Without errors.tolerance the task fails with the reason, and the worker goes on.
    try waitUntil("the strict task's failure") {
      let status = try? worker.getJSON("/connectors/strict/status") as? [String: Any]
      let task = (status?["tasks"] as? [[String: Any]])?.first
      return (task?["trace"] as? String)?.contains("longer than max_line_bytes") == true
    }
    XCTAssertEqual(try worker.records("strict").map { $0["value"] as? String }, ["first"])
    // A restart does not repeat the dead-lettered line.
    XCTAssertEqual(worker.terminate()?.status, 0)
    try worker.start()
    // A sentinel line: the file is read in order, so a repeat would be written before it.
    try append(["fourth"], to: input)
    try waitUntil("the sentinel line") {
      try worker.records("lines").last?["value"] as? String == "fourth"
    }
    XCTAssertEqual(try worker.records("lines.dlq").count, 1)
    XCTAssertEqual(try worker.records("lines").count, 3)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testTopicsFromOutsideAreBoundedByAllowedTopicsAndMaxTopics() throws {
    let worker = try WorkerProcess(log: "{ partitions: 1, fsync: batch, max_topics: 3 }")
    let port = try WorkerProcess.freePort()
    try worker.writeConnector(
      "hooks",
      "name: hooks\nsource: webhook\ntopic: \"t.{header:X-Kind}\"\nconfig: { listen: 127.0.0.1:\(port), path: /h, allowed_topics: 't\\.[a-z]+' }\n"
    )
    try worker.start()
    try waitForListener(port)
    func post(_ kind: String) -> (Int, String) {
      let r = httpRequest(
        "POST", "http://127.0.0.1:\(port)/h",
        headers: ["Content-Type": "application/json", "X-Kind": kind], body: Data("{}".utf8))
      return (r.status, String(decoding: r.body, as: UTF8.self))
    }
    let refused = post("UPPER-1")
    XCTAssertEqual(refused.0, 403, refused.1)
    XCTAssertTrue(refused.1.contains("allowed_topics"), refused.1)
    XCTAssertEqual(post("a").0, 200)
    XCTAssertEqual(post("b").0, 200)
    XCTAssertEqual(
      try worker.post("/topics/api/records", json: #"{"records":[{"value":1}]}"#).status, 200)
    // Three topics exist: the fourth is refused, existing ones still take records.
    let full = post("c")
    XCTAssertEqual(full.0, 403, full.1)
    XCTAssertTrue(full.1.contains("max_topics"), full.1)
    let api = try worker.post("/topics/other/records", json: #"{"records":[{"value":1}]}"#)
    XCTAssertEqual(api.status, 403)
    XCTAssertEqual(post("a").0, 200)
    XCTAssertEqual(try worker.records("t.a").count, 2)
    let topics = try worker.getJSON("/topics") as? [[String: Any]]
    XCTAssertEqual(topics?.compactMap { $0["name"] as? String }.sorted(), ["api", "t.a", "t.b"])
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testAWorkerWithManyTopicsStartsUnderALowDescriptorLimit() throws {
    let worker = try WorkerProcess()
    try worker.start()
    // 300 topics: two files each, 600 descriptors if every segment kept its files open.
    for t in 0..<300 {
      XCTAssertEqual(
        try worker.post("/topics/many.\(t)/records", json: #"{"records":[{"value":\#(t)}]}"#)
          .status,
        200)
    }
    worker.kill9()
    try worker.start(descriptorLimit: 256)
    for t in stride(from: 0, to: 300, by: 7) {
      XCTAssertEqual(try worker.records("many.\(t)").map { $0["value"] as? Int }, [t])
    }
    for t in 0..<300 {
      XCTAssertEqual(
        try worker.post("/topics/many.\(t)/records", json: #"{"records":[{"value":0}]}"#).status,
        200, "topic \(t)")
    }
    XCTAssertEqual(try worker.records("many.299").count, 2)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testFatalSignalLeavesALastLogLine() throws {
    let worker = try WorkerProcess()
    try worker.start()
    let process = try XCTUnwrap(worker.process)
    kill(process.processIdentifier, SIGSEGV)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationReason, .uncaughtSignal)
    XCTAssertEqual(process.terminationStatus, SIGSEGV)
    XCTAssertTrue(worker.log().contains("fatal signal SIGSEGV"), worker.log())
    XCTAssertTrue(worker.log().contains("Backtrace"), worker.log())
  }
}

// MARK: - Listeners

/// Point 8 of issue 19: slowloris and piles of idle sockets cannot hold a listener.
final class ListenerLimitTests: XCTestCase {
  func testSlowHeadersAndIdleConnectionsAreClosedAndTheLimitRefusesTheRest() throws {
    let worker = try WorkerProcess(
      workerYAMLExtra:
        "listeners: { max_connections: 20, header_timeout: 1s, read_timeout: 2s, idle_timeout: 2s }"
    )
    let port = try WorkerProcess.freePort()
    try worker.writeConnector(
      "hooks",
      "name: hooks\nsource: webhook\ntopic: h\nconfig: { listen: 127.0.0.1:\(port), path: /h }\n")
    try worker.start()
    try waitForListener(port)
    for (name, target) in [("admin API", worker.port), ("webhook", port)] {
      // Slowloris: a header line that never ends, one byte at a time.
      let slow = try RawConnection(port: target)
      try slow.send("POST /h HTTP/1.1\r\nHost: x\r\nX-Slow: ")
      let started = Date()
      var closed = false
      while Date().timeIntervalSince(started) < 5 {
        if (try? slow.send("a")) == nil || slow.isClosed(within: 0.25) {
          closed = true
          break
        }
      }
      let slowSeconds = Date().timeIntervalSince(started)
      XCTAssertTrue(closed, "\(name): a slow header was not cut")
      XCTAssertLessThan(slowSeconds, 3, "\(name): header_timeout is 1s")

      // Twenty idle sockets fill the listener; the next one is refused at once.
      let idle = try (0..<20).map { _ in try RawConnection(port: target) }
      Thread.sleep(forTimeInterval: 0.3)
      let extra = try RawConnection(port: target)
      XCTAssertTrue(extra.isClosed(within: 0.5), "\(name): the 21st connection was admitted")
      // The idle ones are closed after header_timeout, and the listener serves again.
      XCTAssertTrue(idle.allSatisfy { $0.isClosed(within: 3) }, "\(name): idle sockets stayed open")
      try waitUntil("\(name) answers again") {
        target == port
          ? httpRequest(
            "POST", "http://127.0.0.1:\(port)/h", headers: ["Content-Type": "application/json"],
            body: Data("{}".utf8), timeout: 2
          ).status == 200
          : (try? worker.get("/connectors").status) == 200
      }
    }
    XCTAssertTrue(worker.log().contains("refuses new connections"), worker.log())
    XCTAssertEqual(try worker.records("h").count, 1, "the webhook still writes")
    XCTAssertEqual(worker.terminate()?.status, 0)
  }
}

extension ListenerLimitTests {
  /// Over h2c the HTTP handlers see streams, so TCP connections are counted ahead of HTTP/2:
  /// idle sockets that never open a stream still fill `max_connections`, and the next one is
  /// refused; once they close, the listener serves again.
  func testH2CListenerCountsTCPConnectionsNotStreams() throws {
    let worker = try WorkerProcess(
      workerYAMLExtra: "listeners: { max_connections: 5, idle_timeout: 2s }")
    let port = try WorkerProcess.freePort()
    try worker.writeConnector(
      "h2",
      "name: h2\nsource: webhook\ntopic: h2\nconfig: { listen: 127.0.0.1:\(port), path: /h, protocol: h2c }\n"
    )
    try worker.start()
    try waitUntil("the h2c listener") { portIsOpen(port) }
    var idle = try (0..<5).map { _ in try RawConnection(port: port) }
    Thread.sleep(forTimeInterval: 0.3)
    let extra = try RawConnection(port: port)
    XCTAssertTrue(extra.isClosed(within: 0.5), "a sixth TCP connection was admitted")
    XCTAssertFalse(idle[0].isClosed(within: 0.2), "an admitted connection was closed at once")
    idle.removeAll()
    try waitUntil("the listener admits again") {
      let probe = try RawConnection(port: port)
      return !probe.isClosed(within: 0.3)
    }
    XCTAssertTrue(worker.log().contains("refuses new connections"), worker.log())
    XCTAssertEqual(worker.terminate()?.status, 0)
  }
}

/// A plain TCP connection for tests that must misbehave below HTTP.
final class RawConnection {
  let fd: Int32

  init(port: Int) throws {
    guard let fd = connectToLoopback(port) else {
      throw WorkerError("cannot connect to port \(port)")
    }
    self.fd = fd
  }

  deinit { close(fd) }

  func send(_ text: String) throws { try send(Array(text.utf8)) }

  func send(_ bytes: [UInt8]) throws {
    guard Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
      throw WorkerError("send failed")
    }
  }

  /// What the server sends within a few seconds, as text.
  func receive(timeout: TimeInterval = 5) -> String {
    String(decoding: receiveBytes(timeout: timeout), as: UTF8.self)
  }

  /// The bytes the server sends within `timeout`.
  func receiveBytes(timeout: TimeInterval = 5) -> [UInt8] {
    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&descriptor, 1, Int32(timeout * 1000)) > 0 else { return [] }
    var buffer = [UInt8](repeating: 0, count: 65_536)
    let n = recv(fd, &buffer, buffer.count, 0)
    return n > 0 ? Array(buffer[..<n]) : []
  }

  /// True when the server closes the connection (or resets it) within `seconds`.
  func isClosed(within seconds: TimeInterval) -> Bool {
    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&descriptor, 1, Int32(seconds * 1000)) > 0 else { return false }
    var byte: UInt8 = 0
    return recv(fd, &byte, 1, Int32(MSG_PEEK)) <= 0
  }
}

// MARK: - Support

/// Waits until a webhook listener accepts connections and `path` takes requests (no 503 while
/// its dedupe index is rebuilt, no 404 before its connector registered it).
func waitForListener(_ port: Int, path: String = "/h", timeout: TimeInterval = 15) throws {
  try waitUntil("a listener on port \(port)", timeout: timeout) {
    ![0, 404, 503].contains(
      httpRequest("GET", "http://127.0.0.1:\(port)\(path)", timeout: 1).status)
  }
}

/// The worker's peak resident set (VmHWM), in MiB.
func peakResidentMiB(of worker: WorkerProcess) throws -> Int {
  let pid = try XCTUnwrap(worker.process?.processIdentifier)
  let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
  let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
  let kib = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
  return kib / 1024
}

/// One RecordBatch v2 with base offset 0 and one record, as Kafka lays it out (the CRC-32C
/// covers attributes to the end), written by hand so a test can store what the log refuses.
func recordBatch(timestamp: Int64, value: [UInt8], headerCount: Int64 = 0) -> [UInt8] {
  func varint(_ v: Int64, _ out: inout [UInt8]) {
    var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
    while z >= 0x80 {
      out.append(UInt8(z & 0x7f) | 0x80)
      z >>= 7
    }
    out.append(UInt8(z))
  }
  func be<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
    withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) }
  }
  var record: [UInt8] = [0]  // attributes
  varint(0, &record)  // timestamp delta
  varint(0, &record)  // offset delta
  varint(-1, &record)  // no key
  varint(Int64(value.count), &record)
  record += value
  varint(headerCount, &record)
  var body: [UInt8] = []  // attributes .. end: what the CRC covers
  be(Int16(0), &body)
  be(Int32(0), &body)  // last offset delta
  be(timestamp, &body)
  be(timestamp, &body)
  be(Int64(-1), &body)
  be(Int16(-1), &body)
  be(Int32(-1), &body)
  be(Int32(1), &body)
  varint(Int64(record.count), &body)
  body += record
  var batch: [UInt8] = []
  be(Int64(0), &batch)
  be(Int32(4 + 1 + 4 + body.count), &batch)  // leader epoch, magic, crc, body
  be(Int32(-1), &batch)
  batch.append(2)
  be(crc32c(body), &batch)
  return batch + body
}

func crc32c(_ bytes: [UInt8]) -> UInt32 {
  var crc: UInt32 = 0xffff_ffff
  for byte in bytes {
    crc ^= UInt32(byte)
    for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82f6_3b78 : crc >> 1 }
  }
  return ~crc
}
