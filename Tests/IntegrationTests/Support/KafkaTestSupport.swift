import Foundation
import SluiceTestBrokers
import XCTest

/// A worker with its Kafka listener on a free port, and the real-client tools of Tests/Kafka
/// (run with the virtualenv `make kafka-tools` makes: confluent-kafka, kafka-python, aiokafka).
class KafkaWorkerTestCase: XCTestCase {
  static let repository = TestServers.repository
  static let python = repository.appendingPathComponent(".build/kafka-venv/bin/python").path

  /// A worker whose `kafka:` listens on a free port; `bootstrap` is that address.
  func startKafkaWorker(extra: String = "", log: String = "{ partitions: 1, fsync: batch }")
    throws -> (worker: WorkerProcess, bootstrap: String)
  {
    let port = try WorkerProcess.freePort()
    let worker = try WorkerProcess(
      workerYAMLExtra: "kafka: { listen: 127.0.0.1:\(port) }\n\(extra)", log: log)
    try worker.start()
    try waitUntil("the kafka listener", timeout: 15) { portIsOpen(port) }
    return (worker, "127.0.0.1:\(port)")
  }

  /// Runs `Tests/Kafka/<script>.py` with `arguments` and returns its JSON result; fails the
  /// test (naming its problems) unless it says ok, when `mustSucceed`.
  @discardableResult
  func kafkaTool(
    _ script: String, _ arguments: [String], mustSucceed: Bool = true,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> [String: Any] {
    let run = try KafkaToolProcess(script, arguments)
    let result = run.wait()
    if mustSucceed {
      XCTAssertEqual(
        result["ok"] as? Bool, true,
        "\(script) \(arguments.joined(separator: " ")): \(result["problems"] ?? result)\n\(run.stderr.suffix(2000))",
        file: file, line: line)
    }
    return result
  }
}

/// One run of a Tests/Kafka tool, started at once; ``wait()`` gives its JSON line.
final class KafkaToolProcess {
  let process = Process()
  private let out = Pipe()
  private let err = Pipe()
  private var stdoutData = Data()
  private(set) var stderr = ""

  init(_ script: String, _ arguments: [String]) throws {
    process.executableURL = URL(fileURLWithPath: KafkaWorkerTestCase.python)
    process.arguments =
      [KafkaWorkerTestCase.repository.appendingPathComponent("Tests/Kafka/\(script).py").path]
      + arguments
    process.standardOutput = out
    process.standardError = err
    try process.run()
  }

  /// Waits for the tool to exit and returns the JSON object of its last stdout line (or
  /// `ok: false` with the output when there is none).
  func wait() -> [String: Any] {
    // Read both pipes while it runs, so neither fills up and blocks the tool.
    let errors = err.fileHandleForReading
    let group = DispatchGroup()
    nonisolated(unsafe) var errorData = Data()
    DispatchQueue.global().async(group: group) { errorData = errors.readDataToEndOfFile() }
    stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    stderr = String(decoding: errorData, as: UTF8.self)
    let text = String(decoding: stdoutData, as: UTF8.self)
    guard let last = text.split(separator: "\n").last,
      let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
    else {
      return [
        "ok": false,
        "problems": ["no JSON result (exit \(process.terminationStatus)): \(text.suffix(500))"],
      ]
    }
    return object
  }
}

extension WorkerProcess {
  /// The codec bits (0 none … 4 zstd) of every batch in the embedded log's segment files of
  /// `topic`'s partition `partition`, in order: what the worker wrote, as it lies on disk.
  func storedCodecs(_ topic: String, partition: Int = 0) throws -> [Int] {
    try storedBatchCodecs(
      in: directory.appendingPathComponent("data/log/topics/\(topic)/\(partition)"))
  }
}
