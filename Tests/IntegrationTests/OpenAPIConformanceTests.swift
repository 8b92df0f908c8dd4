import Foundation
import SluiceTestBrokers
import XCTest

/// The admin API's OpenAPI description against a real worker: `GET /openapi.json` serves the
/// repository's document, and schemathesis (PyPI, in the virtualenv `make rest-tools` makes)
/// finds no 5xx and no answer that contradicts the description.
///
/// The worker runs Kafka's quickstart pair — `local-file-source` into `connect-test` and
/// `local-file-sink` out of it, the names the document's examples use — so the connector and
/// topic routes answer with data, not only 404s.
final class OpenAPIConformanceTests: XCTestCase {
  /// The repository, found from this file.
  static let repository = TestServers.repository
  static let document = repository.appendingPathComponent(
    "Sources/SluiceAPI/OpenAPI/openapi.json")
  static let schemathesis = repository.appendingPathComponent(".build/rest-venv/bin/st")
  static let schemathesisConfig = repository.appendingPathComponent(
    "Tests/ConnectREST/schemathesis.toml")

  private var worker: WorkerProcess!
  private var output: URL!

  override func setUpWithError() throws {
    worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("test.txt")
    output = worker.directory.appendingPathComponent("test.sink.jsonl")
    try "foo\nbar\n{\"n\":1}\n".write(to: input, atomically: true, encoding: .utf8)
    try worker.writeConnector(
      "local-file-source",
      """
      name: local-file-source
      source: file
      topic: connect-test
      config: { path: \(input.path), poll_ms: 20 }
      """)
    try worker.writeConnector(
      "local-file-sink",
      """
      name: local-file-sink
      sink: file
      topics: [connect-test]
      config: { path: \(output.path) }
      """)
    try worker.start()
    try waitUntil("the quickstart lines delivered") { try deliveredLines() == 3 }
  }

  override func tearDown() {
    _ = worker.terminate()
    if let run = testRun, run.failureCount > 0 { print(worker.log()) }
  }

  func testServedDocumentIsTheRepositoryFile() throws {
    let answer = httpRequest("GET", worker.apiURL + "/openapi.json")
    XCTAssertEqual(answer.status, 200)
    XCTAssertEqual(answer.headers["content-type"], "application/json")
    XCTAssertEqual(
      answer.body, try Data(contentsOf: Self.document),
      "the binary embeds Sources/SluiceAPI/OpenAPI/openapi.json as it is")
    let document = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
    XCTAssertEqual(document["openapi"] as? String, "3.0.3")
    XCTAssertNotNil((document["paths"] as? [String: Any])?["/connectors/{connector}/status"])
  }

  func testSchemathesisFindsNothingTheDescriptionDoesNotAllow() throws {
    guard FileManager.default.isExecutableFile(atPath: Self.schemathesis.path) else {
      XCTFail("\(Self.schemathesis.path) is missing: run `make rest-tools`")
      return
    }
    let st = Process()
    st.executableURL = Self.schemathesis
    st.arguments = [
      "--config-file", Self.schemathesisConfig.path,
      "run", worker.apiURL + "/openapi.json", "--no-color",
    ]
    // Whatever it leaves behind stays in the worker's temporary folder.
    st.currentDirectoryURL = worker.directory
    let pipe = Pipe()
    st.standardOutput = pipe
    st.standardError = pipe
    let started = Date()
    try st.run()
    // Read while it runs so a long report cannot fill the pipe and block it.
    let reader = DispatchQueue(label: "schemathesis-output")
    nonisolated(unsafe) var report = Data()
    let done = DispatchSemaphore(value: 0)
    reader.async {
      report = pipe.fileHandleForReading.readDataToEndOfFile()
      done.signal()
    }
    let limit: TimeInterval = 300
    while st.isRunning && Date().timeIntervalSince(started) < limit {
      Thread.sleep(forTimeInterval: 0.2)
    }
    if st.isRunning { st.terminate() }
    st.waitUntilExit()
    done.wait()
    let text = String(decoding: report, as: UTF8.self)
    XCTAssertLessThan(
      Date().timeIntervalSince(started), limit, "schemathesis ran over \(limit) s:\n\(text)")
    XCTAssertEqual(st.terminationStatus, 0, "schemathesis found problems:\n\(text)")
    XCTAssertTrue(text.contains("passed"), text)
    // The worker is still whole after the fuzzing: its API answers and it did not crash.
    XCTAssertEqual(try worker.get("/connectors").status, 200)
    XCTAssertTrue(worker.process?.isRunning ?? false, "the worker exited during the run")
  }

  private func deliveredLines() throws -> Int {
    guard let text = try? String(contentsOf: output, encoding: .utf8) else { return 0 }
    return text.split(separator: "\n").count
  }
}
