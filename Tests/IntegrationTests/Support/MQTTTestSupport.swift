import Foundation
import XCTest

/// The shared broker `make test` starts (`SLUICE_TEST_MQTT_URL`).
func sharedMQTTPort() throws -> Int {
  guard let url = ProcessInfo.processInfo.environment["SLUICE_TEST_MQTT_URL"],
    let port = url.split(separator: ":").last.flatMap({ Int($0) })
  else { throw WorkerError("SLUICE_TEST_MQTT_URL is not set; run the tests with `make test`") }
  return port
}

/// A short unique prefix for MQTT topics, client ids and Sluice topics of one test.
func uniquePrefix() -> String {
  "m" + UUID().uuidString.prefix(8).lowercased()
}

/// Runs a program to completion and returns its status and output (stdout and stderr).
@discardableResult
func runProgram(_ path: String, _ arguments: [String], stdin: Data? = nil) throws -> (
  status: Int32, output: String
) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  let out = Pipe()
  let input = Pipe()
  process.standardOutput = out
  process.standardError = out
  process.standardInput = input
  try process.run()
  if let stdin { input.fileHandleForWriting.write(stdin) }
  try input.fileHandleForWriting.close()
  let data = out.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `mosquitto_pub` with these arguments; fails the test when it fails.
func mosquittoPub(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line)
  throws
{
  let result = try runProgram("/usr/bin/mosquitto_pub", arguments)
  XCTAssertEqual(result.status, 0, result.output, file: file, line: line)
}

/// `sluice-mqtt-publish` (built next to `sluice`): numbered JSON readings, waiting for every
/// PUBACK. Returns the process so a test can run it in the background.
func startPublisher(_ arguments: [String]) throws -> Process {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: WorkerProcess.binary).deletingLastPathComponent()
    .appendingPathComponent("sluice-mqtt-publish")
  process.arguments = arguments
  process.standardOutput = FileHandle.nullDevice
  try process.run()
  return process
}

func publish(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
  let process = try startPublisher(arguments)
  process.waitUntilExit()
  XCTAssertEqual(process.terminationStatus, 0, "sluice-mqtt-publish failed", file: file, line: line)
}

/// A mosquitto broker of a test's own, in a temporary folder, so the test can stop and restart
/// it (persistence on, so sessions and queued messages survive a graceful restart) or give it a
/// TLS listener.
final class MQTTBroker {
  let directory: URL
  let port: Int
  private var process: Process?

  init(tls: (ca: String, cert: String, key: String)? = nil) throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-mqtt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(
      at: directory.appendingPathComponent("db"), withIntermediateDirectories: true)
    port = try WorkerProcess.freePort()
    var conf = """
      listener \(port) 127.0.0.1
      allow_anonymous true
      persistence true
      persistence_location \(directory.path)/db/
      max_queued_messages 1000000
      log_dest file \(directory.path)/mosquitto.log
      user root

      """
    if let tls {
      conf += "cafile \(tls.ca)\ncertfile \(tls.cert)\nkeyfile \(tls.key)\n"
    }
    try conf.write(
      to: directory.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
    try start()
  }

  deinit {
    stop()
    try? FileManager.default.removeItem(at: directory)
  }

  /// Starts mosquitto and waits until it accepts connections.
  func start() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/mosquitto")
    process.arguments = ["-c", directory.appendingPathComponent("mosquitto.conf").path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    self.process = process
    try waitUntil("mosquitto listening on \(port)") { portIsOpen(port) }
  }

  /// SIGTERM: mosquitto saves its persistence file and exits.
  func stop() {
    guard let process, process.isRunning else { return }
    process.terminate()
    process.waitUntilExit()
    self.process = nil
  }

  func log() -> String {
    (try? String(contentsOf: directory.appendingPathComponent("mosquitto.log"), encoding: .utf8))
      ?? ""
  }
}

extension WorkerProcess {
  /// The status details of a connector's first task.
  func taskDetails(_ connector: String) -> [String: String] {
    guard let status = try? getJSON("/connectors/\(connector)/status") as? [String: Any],
      let tasks = status["tasks"] as? [[String: Any]], let first = tasks.first
    else { return [:] }
    return first["details"] as? [String: String] ?? [:]
  }

  /// Waits until the connector's MQTT session is up.
  func waitForMQTT(_ connector: String, timeout: TimeInterval = 20) throws {
    try waitUntil("\(connector) connected to the broker", timeout: timeout) {
      taskDetails(connector)["connected"] == "true"
    }
  }

  /// How many records `topic` holds, over all partitions.
  func recordCount(_ topic: String) -> Int {
    guard let info = try? getJSON("/topics/\(topic)") as? [String: Any] else { return 0 }
    return (info["partitions"] as? [[String: Any]] ?? []).reduce(0) {
      $0 + ((($1["end_offset"] as? Int) ?? 0) - (($1["start_offset"] as? Int) ?? 0))
    }
  }
}

/// The `seq` numbers of readings written by `sluice-mqtt-publish`, as stored.
func sequenceNumbers(_ records: [[String: Any]]) -> [Int] {
  records.compactMap { ($0["value"] as? [String: Any])?["seq"] as? Int }
}
