import Foundation
import XCTest

/// One scrape of a worker's `GET /metrics`, read by a real Prometheus text parser: PyPI
/// prometheus-client's, run by Tests/Metrics/parse_metrics.py in the virtualenv
/// `make rest-tools` makes. A text the parser refuses fails the test with its message.
struct MetricsScrape {
  static let python = OpenAPIConformanceTests.repository.appendingPathComponent(
    ".build/rest-venv/bin/python")
  static let script = OpenAPIConformanceTests.repository.appendingPathComponent(
    "Tests/Metrics/parse_metrics.py")

  struct Sample {
    var name: String
    var labels: [String: String]
    var value: Double
  }

  /// Family name → type (`counter`, `gauge`, `histogram`), as the parser saw them.
  let families: [String: String]
  let samples: [Sample]
  /// The exposition as the worker sent it.
  let text: String

  /// Scrapes `worker` and parses what it answered.
  init(_ worker: WorkerProcess, file: StaticString = #filePath, line: UInt = #line) throws {
    let (status, body) = try worker.get("/metrics")
    XCTAssertEqual(status, 200, file: file, line: line)
    try self.init(text: String(decoding: body, as: UTF8.self), file: file, line: line)
  }

  init(text: String, file: StaticString = #filePath, line: UInt = #line) throws {
    guard FileManager.default.isExecutableFile(atPath: Self.python.path) else {
      throw WorkerError("\(Self.python.path) is missing: run `make rest-tools`")
    }
    let process = Process()
    process.executableURL = Self.python
    process.arguments = [Self.script.path]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let json = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let object = try JSONSerialization.jsonObject(with: json) as? [String: Any] ?? [:]
    guard process.terminationStatus == 0 else {
      throw WorkerError("the Prometheus parser refused /metrics: \(object["error"] ?? json)")
    }
    self.text = text
    families = object["families"] as? [String: String] ?? [:]
    samples = (object["samples"] as? [[String: Any]] ?? []).map {
      Sample(
        name: $0["name"] as? String ?? "", labels: $0["labels"] as? [String: String] ?? [:],
        value: ($0["value"] as? NSNumber)?.doubleValue ?? .nan)
    }
  }

  /// The value of the sample `name` whose labels include `labels`; nil when there is none.
  func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
    samples.first { sample in
      sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
    }?.value
  }

  /// The samples named `name`.
  func all(_ name: String) -> [Sample] { samples.filter { $0.name == name } }

  /// Whether any sample of `name` has these labels.
  func has(_ name: String, _ labels: [String: String] = [:]) -> Bool {
    value(name, labels) != nil
  }
}

extension WorkerProcess {
  /// `GET /metrics`, parsed by prometheus-client.
  func metrics() throws -> MetricsScrape { try MetricsScrape(self) }
}
