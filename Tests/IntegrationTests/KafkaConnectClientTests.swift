import Foundation
import XCTest

/// A real Kafka Connect REST client from PyPI, kafka-connect-py (in the virtualenv
/// `make rest-tools` makes), drives a connector's whole life against a real worker: create, get,
/// update, pause, resume, stop, offsets, restart, delete (Tests/ConnectREST/kcpy_flow.py).
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
    let worker = try WorkerProcess()
    try worker.start()
    defer { _ = worker.terminate() }
    let process = Process()
    process.executableURL = Self.python
    process.arguments = [Self.script.path, worker.apiURL, worker.directory.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: output, as: UTF8.self)
    XCTAssertEqual(process.terminationStatus, 0, "\(text)\n\(worker.log())")
    XCTAssertTrue(text.contains("kafka-connect-py flow: ok"), text)
  }
}
