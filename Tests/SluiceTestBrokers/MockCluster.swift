import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// librdkafka's mock cluster (`rdkafka_mock.h` of Debian's librdkafka-dev 2.0.2): three brokers on
/// loopback in a small C process (`Tests/Kafka/mock-cluster/mock_cluster.c`, compiled with `cc`
/// into `.build/mock-cluster/` the first time, or when the source is newer) that takes one
/// command a line. Tests move partition leaders, inject errors and delays per API and take
/// brokers down while a client works against it. The process ends when this value is dropped
/// (its stdin closes).
///
/// What the 2.0.2 mock can and cannot do is in `Tests/Kafka/README.md`.
public final class MockCluster: @unchecked Sendable {
  public static let source = BrokerProcess.repository.appendingPathComponent(
    "Tests/Kafka/mock-cluster/mock_cluster.c")
  public static let binary = BrokerProcess.repository.appendingPathComponent(
    ".build/mock-cluster/mock_cluster")

  /// The brokers' `host:port`, broker 1 first.
  public let bootstrap: [String]
  private let process: Process
  private let commands: FileHandle
  private let replies: FileHandle
  private var buffered: [UInt8] = []
  private let lock = NSLock()

  /// Starts a cluster of `brokers` brokers (ids 1...brokers). `MOCK_DEBUG=mock` in the
  /// environment makes librdkafka log the mock's work on the test's stderr.
  public init(brokers: Int = 3) throws {
    try Self.build()
    process = Process()
    process.executableURL = Self.binary
    process.arguments = ["\(brokers)"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    commands = input.fileHandleForWriting
    replies = output.fileHandleForReading
    try process.run()
    var buffered: [UInt8] = []
    guard let line = Self.readLine(from: replies, buffered: &buffered) else {
      throw BrokerError("mock_cluster exited before printing its bootstrap list")
    }
    bootstrap = line.split(separator: ",").map(String.init)
    self.buffered = buffered
    guard bootstrap.count == brokers else {
      throw BrokerError("mock_cluster printed \(line)")
    }
  }

  deinit {
    try? commands.close()
    process.waitUntilExit()
  }

  /// Compiles the C program unless an up-to-date binary is there.
  public static func build() throws {
    let manager = FileManager.default
    func modified(_ url: URL) -> Date? {
      (try? manager.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date
    }
    if let built = modified(binary), let written = modified(source), built >= written { return }
    try manager.createDirectory(
      at: binary.deletingLastPathComponent(), withIntermediateDirectories: true)
    let cc = Process()
    cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    cc.arguments = ["cc", "-O1", "-o", binary.path, source.path, "-lrdkafka"]
    let errors = Pipe()
    cc.standardError = errors
    try cc.run()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    cc.waitUntilExit()
    guard cc.terminationStatus == 0 else {
      throw BrokerError(
        "cc mock_cluster.c failed (is librdkafka-dev installed? make kafka-tools):\n"
          + String(decoding: message, as: UTF8.self))
    }
  }

  // MARK: - Commands

  /// Creates `topic` with `partitions` partitions, each on `replication` brokers.
  public func createTopic(_ topic: String, partitions: Int, replication: Int = 3) throws {
    try send("topic \(topic) \(partitions) \(replication)")
  }

  /// Makes `broker` the leader of `partition` of `topic` (-1: no leader).
  public func setLeader(_ topic: String, partition: Int32, broker: Int32) throws {
    try send("leader \(topic) \(partition) \(broker)")
  }

  /// The next `codes.count` requests of `apiKey`, on whichever broker, fail with `codes` in turn.
  public func pushErrors(apiKey: Int16, _ codes: [Int16]) throws {
    guard !codes.isEmpty else { return }
    try send("errors \(apiKey) " + codes.map(String.init).joined(separator: " "))
  }

  /// The next requests of `apiKey` on `broker` are answered with each `(code, delay)` in
  /// turn: the error code (0: none, the request is served) `delay` late.
  public func pushDelays(broker: Int32, apiKey: Int16, _ answers: [(code: Int16, delay: Duration)])
    throws
  {
    guard !answers.isEmpty else { return }
    let pairs = answers.map { "\($0.code) \(Self.milliseconds($0.delay))" }
    try send("delays \(broker) \(apiKey) " + pairs.joined(separator: " "))
  }

  /// Drops the cluster-wide errors of `apiKey` not used yet.
  public func clearErrors(apiKey: Int16) throws {
    try send("clear \(apiKey)")
  }

  /// Delays every answer of `broker` by `rtt`.
  public func setRoundTrip(broker: Int32, _ rtt: Duration) throws {
    try send("rtt \(broker) \(Self.milliseconds(rtt))")
  }

  /// Disconnects `broker`'s clients and refuses new ones (leaders stay where they are).
  public func setDown(broker: Int32) throws {
    try send("down \(broker)")
  }

  /// Lets `broker` accept connections again.
  public func setUp(broker: Int32) throws {
    try send("up \(broker)")
  }

  /// Makes `broker` the coordinator of `key` (`type`: "transaction" or "group").
  public func setCoordinator(_ type: String, key: String, broker: Int32) throws {
    try send("coordinator \(type) \(key) \(broker)")
  }

  /// Makes ApiVersions advertise `versions` for `apiKey` (nil: not at all).
  public func setApiVersions(apiKey: Int16, _ versions: ClosedRange<Int16>?) throws {
    try send(
      "apiversion \(apiKey) \(versions?.lowerBound ?? -1) \(versions?.upperBound ?? -1)")
  }

  /// Sends one command line and waits for its "ok".
  public func send(_ command: String) throws {
    lock.lock()
    defer { lock.unlock() }
    try commands.write(contentsOf: Data((command + "\n").utf8))
    guard let answer = Self.readLine(from: replies, buffered: &buffered) else {
      throw BrokerError("mock_cluster exited on \(command)")
    }
    guard answer == "ok" else { throw BrokerError("mock_cluster: \(command): \(answer)") }
  }

  private static func milliseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
  }

  /// The next line on the process's stdout, nil at its end. The answers come within
  /// microseconds (the mock's thread serves them), so blocking here is fine in a test.
  private static func readLine(from replies: FileHandle, buffered: inout [UInt8]) -> String? {
    while true {
      if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: buffered[..<newline], as: UTF8.self)
        buffered.removeSubrange(...newline)
        return line
      }
      let chunk = replies.availableData
      if chunk.isEmpty { return nil }
      buffered += chunk
    }
  }
}
