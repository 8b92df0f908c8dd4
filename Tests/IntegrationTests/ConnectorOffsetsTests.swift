import Foundation
import XCTest

/// KIP-875 offsets on a real worker with the embedded store: GET in any state, PATCH and
/// DELETE only when STOPPED, and what they do — a file source reads its lines again from the
/// byte it is moved to, a sink delivers again from the offset it is given or from the start.
final class ConnectorOffsetsTests: XCTestCase {
  private var pipeline: FileLinesPipeline!
  private var worker: WorkerProcess { pipeline.worker }
  private var input: URL { pipeline.input }
  private var output: URL { pipeline.output }

  override func setUpWithError() throws {
    pipeline = try FileLinesPipeline()
    try pipeline.start()
  }

  override func tearDown() {
    _ = worker.terminate()
    if let run = testRun, run.failureCount > 0 { print(worker.log()) }
  }

  func testFileSourceOffsetsMoveWhereItReadsAgain() throws {
    try append(1...5)
    try waitUntil("five lines in the topic") { try topicLines().count == 5 }
    let size = try FileManager.default.attributesOfItem(atPath: input.path)[.size] as! Int

    // GET answers in any state, in FileStreamSource's shape; a change needs STOPPED.
    try waitUntil("GET shows the position after the fifth line") {
      try offsets("lines-in") == [try entry(["filename": input.path], ["position": size])]
    }
    let running = try worker.send("DELETE", "/connectors/lines-in/offsets")
    XCTAssertEqual(running.status, 400)
    XCTAssertTrue(message(running.body).contains("STOPPED state"), message(running.body))
    XCTAssertEqual(
      try worker.send("PATCH", "/connectors/lines-in/offsets", json: patch(position: 0)).status, 400
    )

    // PATCH back to byte 0: the same lines come again after resume.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/stop").status, 204)
    let altered = try worker.send("PATCH", "/connectors/lines-in/offsets", json: patch(position: 0))
    XCTAssertEqual(altered.status, 200, String(decoding: altered.body, as: UTF8.self))
    XCTAssertEqual(
      message(altered.body), "The offsets for this connector have been altered successfully")
    XCTAssertEqual(try offsets("lines-in"), [try entry(["filename": input.path], ["position": 0])])
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/resume").status, 202)
    try waitUntil("the lines again") { try topicLines().count == 10 }
    XCTAssertEqual(try topicLines(), (1...5).map { "line \($0)" } + (1...5).map { "line \($0)" })

    // PATCH to the third line's start: lines 3 to 5 again.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/stop").status, 204)
    let third = "line 1\nline 2\n".utf8.count
    XCTAssertEqual(
      try worker.send("PATCH", "/connectors/lines-in/offsets", json: patch(position: third)).status,
      200)
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/resume").status, 202)
    try waitUntil("lines 3 to 5 again") { try topicLines().count == 13 }
    XCTAssertEqual(Array(try topicLines().suffix(3)), ["line 3", "line 4", "line 5"])

    // DELETE: from the beginning of the file, once.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/stop").status, 204)
    let reset = try worker.send("DELETE", "/connectors/lines-in/offsets")
    XCTAssertEqual(reset.status, 200)
    XCTAssertEqual(
      message(reset.body), "The offsets for this connector have been reset successfully")
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/resume").status, 202)
    try append(6...6)
    try waitUntil("every line again after the reset") { try topicLines().count == 19 }
    XCTAssertEqual(Array(try topicLines().suffix(6)), (1...6).map { "line \($0)" })
    // A sentinel line: read after everything before it, so nothing more can come before it.
    try append(7...7)
    try waitUntil("the sentinel line") { try topicLines().last == "line 7" }
    XCTAssertEqual(try topicLines().count, 20, "nothing more than asked for")

    // Bodies that do not fit the connector are 400s naming the problem; unknown ones 404.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-in/stop").status, 204)
    for body in [
      #"{"offsets":[{"partition":{"filename":"/elsewhere"},"offset":{"position":0}}]}"#,
      #"{"offsets":[{"partition":{"filename":"\#(input.path)"},"offset":{"position":-1}}]}"#,
      #"{"offsets":[{"partition":{"filename":"\#(input.path)"},"offset":{"position":999999}}]}"#,
      #"{"offsets":[]}"#, #"{"offsets":[{"offset":{"position":0}}]}"#, "not json",
    ] {
      let (status, data) = try worker.send("PATCH", "/connectors/lines-in/offsets", json: body)
      XCTAssertEqual(status, 400, body)
      XCTAssertFalse(message(data).isEmpty, body)
    }
    XCTAssertEqual(try worker.send("GET", "/connectors/nope/offsets").status, 404)
    XCTAssertEqual(try worker.send("DELETE", "/connectors/nope/offsets").status, 404)
  }

  func testSinkOffsetsResetAndAlterRedeliver() throws {
    try append(1...5)
    try waitUntil("five lines delivered") { try outputLines().count == 5 }
    try waitUntil("the group's offset committed") {
      try offsets("lines-out") == [
        try entry(["kafka_topic": "lines", "kafka_partition": 0], ["kafka_offset": 5])
      ]
    }

    // DELETE: every partition from its start.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/stop").status, 204)
    XCTAssertEqual(try worker.send("DELETE", "/connectors/lines-out/offsets").status, 200)
    XCTAssertEqual(
      try offsets("lines-out"),
      [try entry(["kafka_topic": "lines", "kafka_partition": 0], ["kafka_offset": 0])])
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/resume").status, 202)
    try waitUntil("redelivered from the start") { try outputLines().count == 10 }
    XCTAssertEqual(try outputLines(), (1...5).map { "line \($0)" } + (1...5).map { "line \($0)" })

    // PATCH to offset 3: lines 4 and 5 again.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/stop").status, 204)
    let altered = try worker.send(
      "PATCH", "/connectors/lines-out/offsets",
      json:
        #"{"offsets":[{"partition":{"kafka_topic":"lines","kafka_partition":0},"offset":{"kafka_offset":3}}]}"#
    )
    XCTAssertEqual(altered.status, 200, String(decoding: altered.body, as: UTF8.self))
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/resume").status, 202)
    try waitUntil("redelivered from offset 3") { try outputLines().count == 12 }
    XCTAssertEqual(Array(try outputLines().suffix(2)), ["line 4", "line 5"])

    // A topic it does not read, or a partition the topic lacks, is a 400.
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-out/stop").status, 204)
    for (topic, partition) in [("other", 0), ("lines", 3)] {
      let (status, data) = try worker.send(
        "PATCH", "/connectors/lines-out/offsets",
        json:
          #"{"offsets":[{"partition":{"kafka_topic":"\#(topic)","kafka_partition":\#(partition)},"offset":{"kafka_offset":0}}]}"#
      )
      XCTAssertEqual(status, 400, "\(topic)/\(partition)")
      XCTAssertTrue(message(data).contains(topic), message(data))
    }
  }

  /// The file sink in `format: json` resumes after the offsets its own file holds: changing
  /// them elsewhere would be a lie, so it says what to do instead — and once the file is moved
  /// away, the reset works.
  func testJSONFileSinkRefusesWhileItsFileHoldsThePartitions() throws {
    let jsonOutput = worker.directory.appendingPathComponent("out.jsonl")
    try worker.writeConnector(
      "lines-json",
      """
      name: lines-json
      sink: file
      topics: [lines]
      config: { path: \(jsonOutput.path) }
      """)
    try append(1...3)
    try waitUntil("three lines in the JSON file") {
      ((try? String(contentsOf: jsonOutput, encoding: .utf8)) ?? "").split(separator: "\n").count
        == 3
    }
    XCTAssertEqual(
      try offsets("lines-json"),
      [try entry(["kafka_topic": "lines", "kafka_partition": 0], ["kafka_offset": 3])])
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-json/stop").status, 204)
    let refused = try worker.send("DELETE", "/connectors/lines-json/offsets")
    XCTAssertEqual(refused.status, 400)
    XCTAssertTrue(message(refused.body).contains("move or truncate"), message(refused.body))

    try FileManager.default.moveItem(
      at: jsonOutput, to: worker.directory.appendingPathComponent("old.jsonl"))
    XCTAssertEqual(try worker.send("DELETE", "/connectors/lines-json/offsets").status, 200)
    XCTAssertEqual(try worker.send("PUT", "/connectors/lines-json/resume").status, 202)
    try waitUntil("every record in the new file") {
      ((try? String(contentsOf: jsonOutput, encoding: .utf8)) ?? "").split(separator: "\n").count
        == 3
    }
  }

  // MARK: - Helpers

  private func patch(position: Int) -> String {
    #"{"offsets":[{"partition":{"filename":"\#(input.path)"},"offset":{"position":\#(position)}}]}"#
  }

  private func append(_ lines: ClosedRange<Int>) throws { try pipeline.append(lines) }

  private func topicLines() throws -> [String] {
    try worker.records("lines").map { $0["value"] as? String ?? "" }
  }

  private func outputLines() throws -> [String] { pipeline.outputLines() }

  private func message(_ body: Data) -> String {
    let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    return object?["message"] as? String ?? ""
  }

  /// The connector's offsets, each entry as JSON text with sorted keys.
  private func offsets(_ name: String) throws -> [String] {
    let body = try worker.getJSON("/connectors/\(name)/offsets") as? [String: Any]
    return try (body?["offsets"] as? [[String: Any]] ?? []).map(canonical)
  }

  /// One expected entry, as ``offsets(_:)`` shows it.
  private func entry(_ partition: [String: Any], _ offset: [String: Any]) throws -> String {
    try canonical(["partition": partition, "offset": offset])
  }

  private func canonical(_ object: [String: Any]) throws -> String {
    String(
      decoding: try JSONSerialization.data(
        withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
  }
}
