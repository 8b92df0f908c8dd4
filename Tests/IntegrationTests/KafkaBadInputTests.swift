import Foundation
import XCTest

/// Bad bytes on the Kafka listener: each misbehaving connection is answered with Kafka's error
/// or closed, every other client keeps being served, and nothing stored changes.
final class KafkaBadInputTests: KafkaWorkerTestCase {
  /// A request frame: size, api key, version, correlation id, client id, then `body`.
  private func frame(key: Int16, version: Int16, correlation: Int32 = 7, body: [UInt8] = [])
    -> [UInt8]
  {
    var header: [UInt8] = []
    func be<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.bigEndian) { header += $0 } }
    be(key)
    be(version)
    be(correlation)
    be(Int16(4))
    header += Array("test".utf8)
    var out: [UInt8] = []
    withUnsafeBytes(of: Int32(header.count + body.count).bigEndian) { out += $0 }
    return out + header + body
  }

  private func send(_ bytes: [UInt8], to port: Int) throws -> RawConnection {
    let connection = try RawConnection(port: port)
    try connection.send(bytes)
    return connection
  }

  func testBadFramesAreAnsweredOrClosedAndEveryoneElseIsServed() throws {
    let (worker, bootstrap) = try startKafkaWorker(
      extra: "", log: "{ partitions: 1, fsync: batch }")
    let port = Int(bootstrap.split(separator: ":").last!)!
    try kafkaTool("produce", ["--bootstrap", bootstrap, "--topic", "safe", "--count", "100"])
    // A client that stays connected and idle throughout, and one that sends nothing at all.
    let silent = try RawConnection(port: port)

    // An ApiVersions version from the future: a v0 answer with UNSUPPORTED_VERSION (35).
    // Header v2 (a flexible ApiVersions): client id, then an empty tagged-field section.
    let future = try send(frame(key: 18, version: 99, body: [0]), to: port)
    let answer = future.receiveBytes()
    XCTAssertGreaterThanOrEqual(answer.count, 10, "an ApiVersions answer")
    if answer.count >= 10 {
      XCTAssertEqual(Array(answer[4..<8]), [0, 0, 0, 7], "its correlation id")
      XCTAssertEqual(Array(answer[8..<10]), [0, 35], "UNSUPPORTED_VERSION")
    }

    let closing: [(String, [UInt8])] = [
      ("an unknown API key", frame(key: 999, version: 0)),
      ("an unsupported Fetch version", frame(key: 1, version: 2)),
      (
        "a frame over max_request_bytes",
        [0x7f, 0xff, 0xff, 0xff] + [UInt8](repeating: 0, count: 64)
      ),
      ("a negative frame size", [0xff, 0xff, 0xff, 0xf0]),
      (
        "garbage in a Metadata body", frame(key: 3, version: 12, body: [0xff, 0xff, 0xff, 0x01, 9])
      ),
      ("a Produce body cut short", frame(key: 0, version: 9, body: [0, 0x10, 0xff])),
    ]
    for (what, bytes) in closing {
      let connection = try send(bytes, to: port)
      XCTAssertTrue(connection.isClosed(within: 5), "\(what): the connection stays open")
    }
    // A frame that promises more than it sends, then the client goes away mid-request.
    let truncated = try send(
      Array(frame(key: 3, version: 12, body: [0, 0, 0, 0]).prefix(9)), to: port)
    _ = truncated

    XCTAssertFalse(silent.isClosed(within: 0.2), "an idle client was dropped")
    XCTAssertTrue(worker.process?.isRunning == true, worker.log())
    let read = try kafkaTool(
      "consume",
      ["--bootstrap", bootstrap, "--topic", "safe", "--expect", "100", "--settle", "0.3"])
    XCTAssertEqual(read["count"] as? Int, 100, "the stored records are unchanged")
    XCTAssertTrue(worker.log().contains("closing a kafka connection"), worker.log())
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  /// A client that trickles a request frame (slowloris) is cut at `listeners.read_timeout`,
  /// however often a byte comes; a normal client on the same listener is served meanwhile.
  func testATrickledRequestFrameIsCutAtTheReadTimeout() throws {
    let (worker, bootstrap) = try startKafkaWorker(extra: "listeners: { read_timeout: 1s }")
    let port = Int(bootstrap.split(separator: ":").last!)!
    let whole = frame(key: 3, version: 12, body: [0, 0, 0, 0, 0, 0, 0])
    let slow = try RawConnection(port: port)
    let started = Date()
    var cut = false
    for byte in whole.dropLast() {
      if (try? slow.send([byte])) == nil || slow.isClosed(within: 0.2) {
        cut = true
        break
      }
    }
    XCTAssertTrue(cut, "a frame trickled over \(whole.count) × 0.2 s was not cut")
    XCTAssertLessThan(Date().timeIntervalSince(started), 2.5, "read_timeout is 1 s")
    try kafkaTool("metadata", ["--bootstrap", bootstrap, "--create", "after-slow"])
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  /// Batches a client should never send: answered with the Kafka error of their partition,
  /// nothing of them stored, and the good partition of the same request stored.
  func testCorruptAndOversizedBatchesGetTheirKafkaErrorAndAreNotStored() throws {
    let (worker, bootstrap) = try startKafkaWorker(
      log: "{ partitions: 1, fsync: batch, max_record_bytes: 10KiB }")
    let port = Int(bootstrap.split(separator: ":").last!)!
    try kafkaTool("metadata", ["--bootstrap", bootstrap, "--create", "bad", "--partitions", "4"])
    let good = recordBatch(timestamp: 1_700_000_000_000, value: Array("fine".utf8))
    var corrupt = good
    corrupt[corrupt.count - 1] ^= 0xff
    var magic1 = good
    magic1[16] = 1
    let big = recordBatch(timestamp: 1_700_000_000_000, value: [UInt8](repeating: 7, count: 20_000))
    // Produce v3: transactional id, acks, timeout, [topic, [partition, records]].
    var body: [UInt8] = []
    func be<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.bigEndian) { body += $0 } }
    be(Int16(-1))
    be(Int16(-1))
    be(Int32(5000))
    be(Int32(1))
    be(Int16(3))
    body += Array("bad".utf8)
    be(Int32(4))
    for (p, batch) in [good, corrupt, big, magic1].enumerated() {
      be(Int32(p))
      be(Int32(batch.count))
      body += batch
    }
    let connection = try send(frame(key: 0, version: 3, body: body), to: port)
    let answer = connection.receiveBytes()
    // size, correlation id, [topic name, [partition, error, base offset, append time]], throttle
    var errors: [Int32: Int16] = [:]
    func int<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
      answer[at..<(at + MemoryLayout<T>.size)].reduce(T(0)) { $0 << 8 | T($1) }
    }
    if answer.count > 20 {
      var at = 8 + 4 + 2 + 3 + 4
      for _ in 0..<4 where at + 22 <= answer.count {
        errors[int(at, Int32.self)] = int(at + 4, Int16.self)
        at += 22
      }
    }
    XCTAssertEqual(
      errors, [0: 0, 1: 2, 2: 10, 3: 43],
      "NONE, CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, UNSUPPORTED_FOR_MESSAGE_FORMAT")
    XCTAssertEqual(try worker.records("bad").count, 1, "only the good batch is stored")
    XCTAssertEqual(worker.terminate()?.status, 0)
  }
}
