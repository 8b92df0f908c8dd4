import Foundation
import SluiceTestBrokers
import XCTest

/// KIP-875 offsets of a source on the Kafka store (`store: { kind: kafka }`, Sluice's own
/// listener as the cluster): GET reads the offsets topic while the task runs without fencing
/// it, PATCH and DELETE write through a session of the stopped connector.
final class KafkaStoreOffsetsTests: XCTestCase {
  func testFileSourceOffsetsOnKafka() throws {
    let cluster = try BrokerProcess(.sluice)
    try cluster.start()
    defer { cluster.stop() }
    let worker = try WorkerProcess(
      workerYAMLExtra:
        "store: { kind: kafka, bootstrap: [\(cluster.address)], default_partitions: 1 }")
    let input = worker.directory.appendingPathComponent("in.txt")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    try worker.writeConnector(
      "lines-in",
      """
      name: lines-in
      source: file
      topic: lines
      config: { path: \(input.path), poll_ms: 20 }
      """)
    let output = worker.directory.appendingPathComponent("out.txt")
    try worker.writeConnector(
      "lines-out",
      """
      name: lines-out
      sink: file
      topics: [lines]
      config: { path: \(output.path), format: value }
      """)
    try worker.start()
    defer {
      if let run = testRun, run.failureCount > 0 { print(worker.log()) }
      _ = worker.terminate()
    }
    func append(_ lines: ClosedRange<Int>) throws {
      let handle = try FileHandle(forWritingTo: input)
      handle.seekToEndOfFile()
      handle.write(Data(lines.map { "line \($0)\n" }.joined().utf8))
      try handle.close()
    }
    func values() throws -> [String] {
      try worker.records("lines").map { $0["value"] as? String ?? "" }
    }
    func position() throws -> Int? {
      let body = try worker.getJSON("/connectors/lines-in/offsets") as? [String: Any]
      let entry = (body?["offsets"] as? [[String: Any]])?.first
      XCTAssertEqual((entry?["partition"] as? [String: Any])?["filename"] as? String, input.path)
      return (entry?["offset"] as? [String: Any])?["position"] as? Int
    }

    try append(1...5)
    try waitUntil("five lines on Kafka", timeout: 60) { try values().count == 5 }
    let size = "line 1\n".utf8.count * 5
    try waitUntil("GET shows the position") { try position() == size }
    // Reading the offsets topic did not fence the running task: it goes on writing.
    try append(6...7)
    try waitUntil("lines after the GET", timeout: 30) { try values().count == 7 }
    XCTAssertEqual(try worker.send("DELETE", "/connectors/lines-in/offsets").status, 400)

    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/stop").status, 204)
    let altered = try worker.send(
      "PATCH", "/connectors/lines-in/offsets",
      json: #"{"offsets":[{"partition":{"filename":"\#(input.path)"},"offset":{"position":0}}]}"#)
    XCTAssertEqual(altered.status, 200, String(decoding: altered.body, as: UTF8.self))
    XCTAssertEqual(try position(), 0)
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/resume").status, 202)
    try waitUntil("the lines again", timeout: 30) { try values().count == 14 }
    XCTAssertEqual(Array(try values().suffix(7)), (1...7).map { "line \($0)" })

    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/stop").status, 204)
    XCTAssertEqual(try worker.send("DELETE", "/connectors/lines-in/offsets").status, 200)
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/resume").status, 202)
    try waitUntil("the lines once more after the reset", timeout: 30) { try values().count == 21 }
    XCTAssertEqual(Array(try values().suffix(7)), (1...7).map { "line \($0)" })

    // The sink's offsets are its consumer group's on the cluster: reset, it delivers again.
    func delivered() -> Int {
      ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n").count
    }
    try waitUntil("the sink delivered all 21", timeout: 60) { delivered() == 21 }
    try waitUntil("GET shows the group's offset") {
      let body = try worker.getJSON("/connectors/lines-out/offsets") as? [String: Any]
      let entry = (body?["offsets"] as? [[String: Any]])?.first
      return (entry?["offset"] as? [String: Any])?["kafka_offset"] as? Int ?? 0 > 0
    }
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/stop").status, 204)
    let reset = try worker.send("DELETE", "/connectors/lines-out/offsets")
    XCTAssertEqual(reset.status, 200, String(decoding: reset.body, as: UTF8.self))
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/resume").status, 202)
    try waitUntil("the sink delivered everything again", timeout: 60) { delivered() == 42 }
  }
}
