import Foundation
import XCTest

/// Bad input at the process level: one clear message, a non-zero exit, and no data lost.
final class BadInputTests: XCTestCase {
  func testCorruptSegmentStopsStartUpNamingFileAndByteAndKeepsTheData() throws {
    let worker = try WorkerProcess()
    try worker.start()
    for i in 0..<5 {
      XCTAssertEqual(
        try worker.post("/topics/t/records", json: #"{"records":[{"value":"v\#(i)"}]}"#).status, 200
      )
    }
    XCTAssertEqual(worker.terminate()?.status, 0)

    let segment = worker.directory.appendingPathComponent(
      "data/log/topics/t/0/00000000000000000000.log")
    var bytes = [UInt8](try Data(contentsOf: segment))
    bytes[30] ^= 0xff  // inside the first batch's CRC-covered bytes; four intact batches follow
    try Data(bytes).write(to: segment)
    // As after a crash: no clean-shutdown marker, so the active segment is verified.
    try? FileManager.default.removeItem(
      at: worker.directory.appendingPathComponent("data/log/.clean-shutdown"))

    let result = try runSluice([
      "run", "--config", worker.directory.appendingPathComponent("worker.yaml").path,
    ])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderr.contains("\(segment.path) is corrupt at byte 0"), result.stderr)
    XCTAssertTrue(result.stderr.contains("followed by an intact one"), result.stderr)
    XCTAssertEqual(try Data(contentsOf: segment).count, bytes.count, "nothing was cut")
  }

  func testTornTailIsCutAndTheWorkerStarts() throws {
    let worker = try WorkerProcess()
    try worker.start()
    for i in 0..<3 {
      XCTAssertEqual(
        try worker.post("/topics/t/records", json: #"{"records":[{"value":"v\#(i)"}]}"#).status, 200
      )
    }
    worker.kill9()
    let segment = worker.directory.appendingPathComponent(
      "data/log/topics/t/0/00000000000000000000.log")
    let handle = try FileHandle(forWritingTo: segment)
    handle.seekToEndOfFile()
    handle.write(Data([0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 1, 0]))  // the start of a batch that never finished
    try handle.close()

    try worker.start()
    let records = try worker.getJSON("/topics/t/records?offset=0") as? [[String: Any]]
    XCTAssertEqual(records?.map { $0["value"] as? String }, ["v0", "v1", "v2"])
    XCTAssertTrue(worker.log().contains("cut a torn tail of 12 bytes"), worker.log())
    XCTAssertEqual(
      try worker.post("/topics/t/records", json: #"{"records":[{"value":"v3"}]}"#).status, 200)
    XCTAssertEqual(
      ((try worker.getJSON("/topics/t/records?offset=3") as? [[String: Any]])?.first?["offset"]
        as? Int), 3)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testUnwritableDataDirIsOneClearMessage() throws {
    let worker = try WorkerProcess()
    let blocker = worker.directory.appendingPathComponent("not-a-dir")
    try Data("x".utf8).write(to: blocker)
    let config = worker.directory.appendingPathComponent("bad.yaml")
    try
      "data_dir: \(blocker.path)/data\nconnectors_dir: \(worker.connectorsDirectory.path)\napi: { listen: 127.0.0.1:\(worker.port) }\n"
      .write(to: config, atomically: true, encoding: .utf8)
    let result = try runSluice(["run", "--config", config.path])
    XCTAssertEqual(result.status, 1)
    XCTAssertTrue(result.stderr.contains("cannot write to \(blocker.path)/data"), result.stderr)
  }

  func testOversizedRecordIsRefusedWith413AndNothingIsWritten() throws {
    let worker = try WorkerProcess(workerYAMLExtra: "")
    try worker.start()
    let big = String(repeating: "x", count: (1 << 20) + 10)
    let (status, body) = try worker.post(
      "/topics/big/records", json: #"{"records":[{"value":"ok"},{"value":"\#(big)"}]}"#)
    XCTAssertEqual(status, 413)
    XCTAssertTrue(
      String(decoding: body, as: UTF8.self).contains("larger than the limit of 1048576 bytes"))
    let topic = try worker.getJSON("/topics/big") as? [String: Any]
    XCTAssertEqual(((topic?["partitions"] as? [[String: Any]])?.first?["end_offset"] as? Int), 0)
    XCTAssertEqual(worker.terminate()?.status, 0)
  }
}
