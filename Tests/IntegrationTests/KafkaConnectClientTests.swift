import Foundation
import XCTest

/// A real Kafka Connect REST client from PyPI, kafka-connect-py (in the virtualenv
/// `make rest-tools` makes), and curl with the JSON of Kafka Connect's docs, each drive two
/// connectors' whole life against a real worker: create, get, update, pause, resume, stop,
/// offsets, restart, delete (Tests/ConnectREST/kcpy_flow.py and curl_flow.sh).
final class KafkaConnectClientTests: XCTestCase {
  static let python = OpenAPIConformanceTests.repository.appendingPathComponent(
    ".build/rest-venv/bin/python")
  static let script = OpenAPIConformanceTests.repository.appendingPathComponent(
    "Tests/ConnectREST/kcpy_flow.py")

  func testKafkaConnectPyDrivesAConnectorsWholeLife() throws {
    guard FileManager.default.isExecutableFile(atPath: Self.python.path) else {
      XCTFail("\(Self.python.path) is missing: run `make rest-tools`")
      return
    }
    try run(Self.python, [Self.script.path], expecting: "kafka-connect-py flow: ok")
  }

  func testCurlWithKafkaDocsJSONDrivesTheSameFlow() throws {
    try run(
      URL(fileURLWithPath: "/bin/bash"),
      [OpenAPIConformanceTests.repository.appendingPathComponent("Tests/ConnectREST/curl_flow.sh").path],
      expecting: "curl flow: ok")
  }

  private func run(_ executable: URL, _ arguments: [String], expecting done: String) throws {
    let worker = try WorkerProcess()
    try worker.start()
    defer { _ = worker.terminate() }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments + [worker.apiURL, worker.directory.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: output, as: UTF8.self)
    XCTAssertEqual(process.terminationStatus, 0, "\(text)\n\(worker.log())")
    XCTAssertTrue(text.contains(done), text)
  }
}
