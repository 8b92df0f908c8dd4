import Foundation
import SluiceTestBrokers
import XCTest

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// A real `sluice run` process in a temporary folder, for tests that kill and restart it.
///
/// The folder holds `worker.yaml`, `connectors/`, `data/` and whatever files the test's
/// connectors read and write. The binary is `$SLUICE_BIN` (set by `make test`) or the `sluice`
/// built next to the test bundle.
final class WorkerProcess {
  let directory: URL
  let port: Int
  private(set) var process: Process?
  private var logHandle: FileHandle?

  var connectorsDirectory: URL { directory.appendingPathComponent("connectors") }
  var apiURL: String { "http://127.0.0.1:\(port)" }
  var logFile: URL { directory.appendingPathComponent("worker.log") }

  /// `api` goes inside the worker file's `api:` mapping after `listen` (`auth: {…}, tls: {…}`).
  init(
    workerYAMLExtra: String = "", log: String = "{ partitions: 1, fsync: batch }", port: Int? = nil,
    api: String = ""
  ) throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-it-\(UUID().uuidString)")
    try FileManager.default.createDirectory(
      at: directory.appendingPathComponent("connectors"), withIntermediateDirectories: true)
    self.port = try port ?? Self.freePort()
    // `log:` configures the embedded store only; a worker on a Kafka cluster must not have it.
    let onKafka = workerYAMLExtra.contains("kind: kafka")
    let yaml = """
      data_dir: \(directory.path)/data
      connectors_dir: \(directory.path)/connectors
      api: { listen: 127.0.0.1:\(self.port)\(api.isEmpty ? "" : ", " + api) }
      \(onKafka ? "" : "log: \(log)")
      \(workerYAMLExtra)
      """
    try yaml.write(
      to: directory.appendingPathComponent("worker.yaml"), atomically: true, encoding: .utf8)
    FileManager.default.createFile(atPath: logFile.path, contents: nil)
  }

  deinit {
    if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    try? FileManager.default.removeItem(at: directory)
  }

  static var binary: String {
    if let path = ProcessInfo.processInfo.environment["SLUICE_BIN"], !path.isEmpty { return path }
    // Next to the test bundle: .build/<triple>/debug/sluice
    var url = URL(
      fileURLWithPath: CommandLine.arguments.first { $0.contains(".xctest") }
        ?? CommandLine.arguments[0])
    while url.pathComponents.count > 1 && !url.lastPathComponent.hasSuffix(".xctest") {
      url.deleteLastPathComponent()
    }
    return url.deletingLastPathComponent().appendingPathComponent("sluice").path
  }

  func writeConnector(_ name: String, _ yaml: String) throws {
    let url = connectorsDirectory.appendingPathComponent("\(name).yaml")
    // Write then rename, as an editor would, so the worker never reads half a file.
    let temporary = directory.appendingPathComponent(".\(name).yaml.tmp")
    try yaml.write(to: temporary, atomically: false, encoding: .utf8)
    guard rename(temporary.path, url.path) == 0 else {
      throw WorkerError("cannot rename \(temporary.path)")
    }
  }

  func removeConnector(_ name: String) throws {
    try FileManager.default.removeItem(
      at: connectorsDirectory.appendingPathComponent("\(name).yaml"))
  }

  /// Starts the worker and waits until its API answers (or `ready` says so: an HTTPS API);
  /// with `descriptorLimit`, under that `RLIMIT_NOFILE` (through prlimit, which execs the
  /// worker in its own process).
  func start(
    timeout: TimeInterval = 30, descriptorLimit: Int? = nil, ready: (() -> Bool)? = nil
  ) throws {
    let process = Process()
    let run = ["run", "--config", directory.appendingPathComponent("worker.yaml").path]
    if let descriptorLimit {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
      process.arguments = ["--nofile=\(descriptorLimit):\(descriptorLimit)", Self.binary] + run
    } else {
      process.executableURL = URL(fileURLWithPath: Self.binary)
      process.arguments = run
    }
    process.currentDirectoryURL = directory
    let handle = try FileHandle(forWritingTo: logFile)
    handle.seekToEndOfFile()
    process.standardOutput = handle
    process.standardError = handle
    logHandle = handle
    try process.run()
    self.process = process
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if !process.isRunning {
        throw WorkerError(
          "worker exited with status \(process.terminationStatus) during start-up:\n\(log())")
      }
      if let ready { if ready() { return } } else if (try? get("/connectors")) != nil { return }
      Thread.sleep(forTimeInterval: 0.05)
    }
    throw WorkerError("worker did not answer within \(timeout)s:\n\(log())")
  }

  /// SIGKILL: no flush, no commit, no goodbye.
  func kill9() {
    guard let process, process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  /// SIGTERM, then waits; returns the exit status and how long the shutdown took.
  func terminate(timeout: TimeInterval = 15) -> (status: Int32, seconds: TimeInterval)? {
    guard let process, process.isRunning else { return nil }
    let started = Date()
    kill(process.processIdentifier, SIGTERM)
    while process.isRunning && Date().timeIntervalSince(started) < timeout {
      Thread.sleep(forTimeInterval: 0.02)
    }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      return nil
    }
    return (process.terminationStatus, Date().timeIntervalSince(started))
  }

  /// Every record of `topic` as the API renders it (DESIGN.md §5), partition by partition.
  func records(_ topic: String) throws -> [[String: Any]] {
    guard let info = try? getJSON("/topics/\(topic)") as? [String: Any] else { return [] }
    var all: [[String: Any]] = []
    for p in info["partitions"] as? [[String: Any]] ?? [] {
      var offset = (p["start_offset"] as? Int) ?? 0
      let end = (p["end_offset"] as? Int) ?? 0
      while offset < end {
        let batch =
          try getJSON(
            "/topics/\(topic)/records?partition=\(p["partition"]!)&offset=\(offset)&limit=10000")
          as? [[String: Any]] ?? []
        guard !batch.isEmpty else { break }
        all += batch
        // Offsets may have gaps (transaction markers are not records): go on after the last.
        offset = ((batch.last?["offset"] as? Int) ?? (offset + batch.count - 1)) + 1
      }
    }
    return all
  }

  func log() -> String {
    (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
  }

  // MARK: - Admin API

  @discardableResult
  func get(_ path: String) throws -> (status: Int, body: Data) {
    try request("GET", path, body: nil)
  }

  @discardableResult
  func post(_ path: String, json: String) throws -> (status: Int, body: Data) {
    try request("POST", path, body: Data(json.utf8))
  }

  /// Any method, with an optional JSON body (the Kafka Connect routes use PUT, PATCH, DELETE).
  @discardableResult
  func send(_ method: String, _ path: String, json: String? = nil) throws -> (
    status: Int, body: Data
  ) {
    try request(method, path, body: json.map { Data($0.utf8) })
  }

  func getJSON(_ path: String) throws -> Any {
    let (status, body) = try get(path)
    guard status == 200 else {
      throw WorkerError("GET \(path) → \(status): \(String(decoding: body, as: UTF8.self))")
    }
    return try JSONSerialization.jsonObject(with: body)
  }

  private func request(_ method: String, _ path: String, body: Data?) throws -> (
    status: Int, body: Data
  ) {
    var request = URLRequest(url: URL(string: apiURL + path)!)
    request.httpMethod = method
    request.httpBody = body
    request.timeoutInterval = 10
    if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
    let box = ResultBox()
    let done = DispatchSemaphore(value: 0)
    URLSession.shared.dataTask(with: request) { data, response, error in
      box.value =
        error.map { .failure($0) }
        ?? .success(((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
      done.signal()
    }.resume()
    done.wait()
    return try box.value!.get()
  }

  /// A free port, never one handed out before in this test process (``BrokerProcess/freePort()``).
  static func freePort() throws -> Int { try BrokerProcess.freePort() }
}

private final class ResultBox: @unchecked Sendable {
  // Written once by the URLSession callback before the semaphore is signalled, read after.
  var value: Result<(Int, Data), any Error>?
}

struct WorkerError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Runs a command of the `sluice` binary to completion.
func runSluice(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:])
  throws
  -> (status: Int32, stdout: String, stderr: String)
{
  let process = Process()
  process.executableURL = URL(fileURLWithPath: WorkerProcess.binary)
  process.arguments = arguments
  var env = ProcessInfo.processInfo.environment
  for (k, v) in environment { env[k] = v }
  process.environment = env
  let out = Pipe()
  let err = Pipe()
  let input = Pipe()
  process.standardOutput = out
  process.standardError = err
  process.standardInput = input
  try process.run()
  if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
  try input.fileHandleForWriting.close()
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (
    process.terminationStatus, String(decoding: outData, as: UTF8.self),
    String(decoding: errData, as: UTF8.self)
  )
}

/// One HTTP request with any method, headers and body; the status (0 when the connection
/// failed), the response headers and the body.
func httpRequest(
  _ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil,
  timeout: TimeInterval = 10
) -> (status: Int, headers: [String: String], body: Data) {
  var request = URLRequest(url: URL(string: url)!)
  request.httpMethod = method
  request.httpBody = body
  request.timeoutInterval = timeout
  for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
  let box = HTTPResultBox()
  let done = DispatchSemaphore(value: 0)
  URLSession.shared.dataTask(with: request) { data, response, _ in
    let http = response as? HTTPURLResponse
    var fields: [String: String] = [:]
    for (name, value) in http?.allHeaderFields ?? [:] {
      fields["\(name)".lowercased()] = "\(value)"
    }
    box.value = (http?.statusCode ?? 0, fields, data ?? Data())
    done.signal()
  }.resume()
  done.wait()
  return box.value ?? (0, [:], Data())
}

private final class HTTPResultBox: @unchecked Sendable {
  // Written once by the URLSession callback before the semaphore is signalled, read after.
  var value: (Int, [String: String], Data)?
}
