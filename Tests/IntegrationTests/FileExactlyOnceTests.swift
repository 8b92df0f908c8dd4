import Foundation
import SluiceTestBrokers
import XCTest

/// The exactly-once harness (DESIGN.md §3) for file source → topic → file sink: lines are written
/// while the worker is SIGKILLed at random moments and restarted; at the end the sink file must
/// hold every line exactly once, in order. The connector issues copy this shape.
final class FileExactlyOnceTests: XCTestCase {
  func testEveryLineArrivesOnceInOrderAcrossRepeatedSIGKILL() throws {
    try everyLineArrivesOnceInOrderAcrossRepeatedSIGKILL(workerYAMLExtra: nil)
  }

  /// The same with the topic on a Kafka cluster (`store: kafka`): the file source writes its
  /// lines and position in Kafka transactions, the sink reads committed. The cluster is Sluice's
  /// own listener on a second worker (Tansu 0.6 does not abort a fenced producer's open
  /// transaction, so a crash would show its records).
  func testEveryLineArrivesOnceInOrderAcrossRepeatedSIGKILLOnKafka() throws {
    let cluster = try BrokerProcess(.sluice)
    try cluster.start()
    defer { cluster.stop() }
    try everyLineArrivesOnceInOrderAcrossRepeatedSIGKILL(
      workerYAMLExtra: "store: { kind: kafka, bootstrap: [\(cluster.address)] }")
  }

  private func everyLineArrivesOnceInOrderAcrossRepeatedSIGKILL(workerYAMLExtra: String?) throws {
    let worker = try WorkerProcess(workerYAMLExtra: workerYAMLExtra ?? "")
    let input = worker.directory.appendingPathComponent("in.txt")
    let output = worker.directory.appendingPathComponent("out.jsonl")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    try worker.writeConnector(
      "lines-in",
      """
      name: lines-in
      source: file
      topic: lines
      config: { path: \(input.path), batch_lines: 200, poll_ms: 20 }
      """)
    try worker.writeConnector(
      "lines-out",
      """
      name: lines-out
      sink: file
      topics: [lines]
      config: { path: \(output.path) }
      """)
    try worker.start()

    let total = 20_000
    let writer = LineWriter(url: input, total: total, linesPerChunk: 100, pause: 0.03)
    writer.start()

    // Kill at random moments while lines are still being written, at least five times.
    let crashes = try CrashLoop(atLeast: 6, pauses: 0.05...1.0)
      .run(worker, while: { !writer.finished }, busy: { !writer.finished })
    XCTAssertGreaterThanOrEqual(crashes.whileBusy, 5)

    let expected = (1...total).map { LineWriter.line($0) }
    let values = try waitForValues(in: output, count: total, worker: worker)
    XCTAssertEqual(values.count, total, "sink holds \(values.count) lines, want \(total)")
    XCTAssertEqual(Set(values).count, values.count, "duplicates in the sink file")
    XCTAssertEqual(
      values, expected,
      "first difference at line \(zip(values, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)"
    )

    // And the topic itself holds each line once (on Kafka its end counts transaction markers
    // too; the sink file above, which delivers every committed record, is the check there).
    if workerYAMLExtra == nil {
      let topic = try worker.getJSON("/topics/lines") as? [String: Any]
      let partitions = topic?["partitions"] as? [[String: Any]]
      XCTAssertEqual(
        (partitions?.first?["end_offset"] as? NSNumber)?.intValue, total, "records in the topic")
    }
    XCTAssertNotNil(worker.terminate())
  }

  func testSourceFollowsRotationByRenameAcrossARestart() throws {
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("app.log")
    let output = worker.directory.appendingPathComponent("out.jsonl")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    try worker.writeConnector(
      "app-in",
      """
      name: app-in
      source: file
      topic: app
      config: { path: \(input.path), poll_ms: 20 }
      """)
    try worker.writeConnector(
      "app-out",
      """
      name: app-out
      sink: file
      topics: [app]
      config: { path: \(output.path) }
      """)
    try worker.start()
    try append((1...100).map { LineWriter.line($0) }, to: input)
    _ = try waitForValues(in: output, count: 100, worker: worker)

    // Lines written just before the rename must still be read from the renamed file.
    worker.kill9()
    try append((101...150).map { LineWriter.line($0) }, to: input)
    try FileManager.default.moveItem(
      at: input, to: worker.directory.appendingPathComponent("app.log.1"))
    try append((151...300).map { LineWriter.line($0) }, to: input)
    try worker.start()
    Thread.sleep(forTimeInterval: 0.5)
    try FileManager.default.moveItem(
      at: worker.directory.appendingPathComponent("app.log.1"),
      to: worker.directory.appendingPathComponent("app.log.2"))
    try FileManager.default.moveItem(
      at: input, to: worker.directory.appendingPathComponent("app.log.1"))
    try append((301...400).map { LineWriter.line($0) }, to: input)

    let values = try waitForValues(in: output, count: 400, worker: worker)
    XCTAssertEqual(values, (1...400).map { LineWriter.line($0) })
    XCTAssertNotNil(worker.terminate())
  }

  func testGracefulShutdownExitsZeroQuicklyAndResumesWithoutRepeats() throws {
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("in.txt")
    let output = worker.directory.appendingPathComponent("out.jsonl")
    try append((1...500).map { LineWriter.line($0) }, to: input)
    try worker.writeConnector(
      "in", "name: in\nsource: file\ntopic: t\nconfig: { path: \(input.path), poll_ms: 20 }\n")
    try worker.writeConnector(
      "out", "name: out\nsink: file\ntopics: [t]\nconfig: { path: \(output.path), format: value }\n"
    )
    try worker.start()
    _ = try waitForValues(in: output, count: 500, worker: worker, format: .value)

    let stopped = try XCTUnwrap(worker.terminate(), "worker did not stop on SIGTERM")
    XCTAssertEqual(stopped.status, 0, worker.log())
    XCTAssertLessThan(stopped.seconds, 5)

    // `format: value` relies on the worker's committed offsets: a clean stop must have stored them.
    try append((501...600).map { LineWriter.line($0) }, to: input)
    try worker.start()
    let values = try waitForValues(in: output, count: 600, worker: worker, format: .value)
    XCTAssertEqual(values, (1...600).map { LineWriter.line($0) })
    XCTAssertNotNil(worker.terminate())
  }
}

// MARK: - Helpers

enum SinkFormat { case json, value }

/// Appends lines to a file in chunks from a thread of its own, as an application logging would.
final class LineWriter: @unchecked Sendable {
  let url: URL
  let total: Int
  let linesPerChunk: Int
  let pause: TimeInterval
  let makeLine: @Sendable (Int) -> String
  private let lock = NSLock()
  private var done = false

  init(
    url: URL, total: Int, linesPerChunk: Int, pause: TimeInterval,
    makeLine: @escaping @Sendable (Int) -> String = LineWriter.line
  ) {
    self.url = url
    self.total = total
    self.linesPerChunk = linesPerChunk
    self.pause = pause
    self.makeLine = makeLine
  }

  static func line(_ n: Int) -> String { "line-\(String(format: "%06d", n))" }

  var finished: Bool { lock.withLock { done } }

  func start() {
    Thread.detachNewThread { [self] in
      var n = 1
      while n <= total {
        let upper = min(total, n + linesPerChunk - 1)
        try? append((n...upper).map(makeLine), to: url)
        n = upper + 1
        Thread.sleep(forTimeInterval: pause)
      }
      lock.withLock { done = true }
    }
  }
}

func append(_ lines: [String], to url: URL) throws {
  if !FileManager.default.fileExists(atPath: url.path) {
    FileManager.default.createFile(atPath: url.path, contents: nil)
  }
  let handle = try FileHandle(forWritingTo: url)
  defer { try? handle.close() }
  handle.seekToEndOfFile()
  handle.write(Data(lines.map { $0 + "\n" }.joined().utf8))
}

/// Waits until the sink file holds `count` complete lines (or 60 s pass), then returns the values.
func waitForValues(
  in url: URL, count: Int, worker: WorkerProcess, format: SinkFormat = .json,
  timeout: TimeInterval = 60
) throws
  -> [String]
{
  let deadline = Date().addingTimeInterval(timeout)
  var values: [String] = []
  repeat {
    values = readValues(url, format: format)
    if values.count >= count { break }
    Thread.sleep(forTimeInterval: 0.1)
  } while Date() < deadline
  if values.count < count {
    XCTFail(
      "sink has \(values.count) of \(count) lines after \(timeout)s; worker log:\n\(worker.log().suffix(3000))"
    )
  }
  // Give a duplicate the chance to show up before the caller compares.
  Thread.sleep(forTimeInterval: 0.5)
  return readValues(url, format: format)
}

func readValues(_ url: URL, format: SinkFormat) -> [String] {
  guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
  let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
  switch format {
  case .value: return lines.map(String.init)
  case .json:
    return lines.compactMap { line in
      (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["value"]
        as? String
    }
  }
}
