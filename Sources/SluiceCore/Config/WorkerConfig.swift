import Foundation

/// The worker file (`Config/worker.yaml`, DESIGN.md §4): where data and connector files live,
/// where the admin API listens, and how the embedded log behaves.
///
/// ```yaml
/// data_dir: data
/// connectors_dir: Config/connectors
/// api: { listen: 127.0.0.1:8083 }
/// log: { partitions: 1, segment_bytes: 256MiB, retention_hours: 168, fsync: batch }
/// ```
///
/// Relative paths are kept as written and resolve against the working directory, as Kafka
/// Connect's do.
public struct WorkerConfig: Sendable, Equatable {
  /// `log.fsync`: when an append counts as durable.
  public enum FsyncMode: String, Sendable, Equatable, CaseIterable {
    /// Acknowledge an append only after an fsync covering it (group-committed); the default.
    case batch
    /// Fsync every `fsync_interval_ms`; a crash can lose the last interval.
    case interval
    /// Leave flushing to the operating system; a crash of the machine can lose data.
    case none
  }

  /// The `api:` section.
  public struct API: Sendable, Equatable {
    /// `api.listen`'s host, e.g. `127.0.0.1`.
    public var host: String
    /// `api.listen`'s port, e.g. `8083`.
    public var port: Int

    /// An address to listen on.
    public init(host: String = "127.0.0.1", port: Int = 8083) {
      self.host = host
      self.port = port
    }
  }

  /// The `log:` section: the embedded log's defaults for every topic.
  public struct Log: Sendable, Equatable {
    /// `partitions`: partitions of a topic created on first write.
    public var partitions: Int
    /// `segment_bytes`: a segment rolls when it reaches this size.
    public var segmentBytes: Int64
    /// `segment_ms`: a segment rolls when it is this old.
    public var segmentMs: Int64
    /// `retention_hours` (or `retention_ms`): segments older than this are deleted; nil
    /// (`retention_hours: -1`) keeps them forever.
    public var retentionMs: Int64?
    /// `retention_bytes`: a partition's oldest segments are deleted beyond this size; nil
    /// (the default) means no size limit.
    public var retentionBytes: Int64?
    /// `fsync`: when an append counts as durable.
    public var fsync: FsyncMode
    /// `fsync_interval_ms`: the flush period of `fsync: interval`.
    public var fsyncIntervalMs: Int
    /// `max_record_bytes`: the largest record accepted.
    public var maxRecordBytes: Int

    /// The defaults, or the given values.
    public init(
      partitions: Int = 1, segmentBytes: Int64 = 256 << 20, segmentMs: Int64 = 7 * 86_400_000,
      retentionMs: Int64? = 168 * 3_600_000, retentionBytes: Int64? = nil,
      fsync: FsyncMode = .batch,
      fsyncIntervalMs: Int = 1000, maxRecordBytes: Int = 1 << 20
    ) {
      self.partitions = partitions
      self.segmentBytes = segmentBytes
      self.segmentMs = segmentMs
      self.retentionMs = retentionMs
      self.retentionBytes = retentionBytes
      self.fsync = fsync
      self.fsyncIntervalMs = fsyncIntervalMs
      self.maxRecordBytes = maxRecordBytes
    }
  }

  /// The keys a worker file may have.
  public static let topLevelKeys = ["data_dir", "connectors_dir", "api", "log", "worker_id"]
  /// The keys of the `log:` section.
  public static let logKeys = [
    "partitions", "segment_bytes", "segment_ms", "retention_hours", "retention_ms",
    "retention_bytes", "fsync",
    "fsync_interval_ms", "max_record_bytes",
  ]

  /// `data_dir`: where the log and offsets live.
  public var dataDir: String
  /// `connectors_dir`: the folder of connector files.
  public var connectorsDir: String
  /// `api.listen`: where the admin API listens.
  public var api: API
  /// `log`: the embedded log's settings.
  public var log: Log
  /// `worker_id`: this worker's name in status output; the host name by default.
  public var workerID: String
  /// The file this was read from (empty for defaults).
  public var file: String

  /// The defaults, or the given values.
  public init(
    dataDir: String = "data", connectorsDir: String = "Config/connectors", api: API = API(),
    log: Log = Log(),
    workerID: String = ProcessInfo.processInfo.hostName, file: String = ""
  ) {
    self.dataDir = dataDir
    self.connectorsDir = connectorsDir
    self.api = api
    self.log = log
    self.workerID = workerID
    self.file = file
  }

  // MARK: - Loading

  /// Reads and validates a worker file.
  public static func load(
    path: String, environment: [String: String] = ProcessInfo.processInfo.environment
  )
    throws(ConfigError) -> WorkerConfig
  {
    try WorkerConfig(ConfigNode.load(path: path, environment: environment))
  }

  /// Validates a worker file's text; `file` names it in errors.
  public static func parse(
    text: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(ConfigError) -> WorkerConfig {
    try WorkerConfig(ConfigNode.parse(text: text, file: file, environment: environment))
  }

  /// A worker config from a parsed file's root node.
  public init(_ root: ConfigNode) throws(ConfigError) {
    self.init(file: root.file)
    let m = try root.mapping(allowedKeys: Self.topLevelKeys)
    dataDir = try Self.path(m, "data_dir", default: dataDir)
    connectorsDir = try Self.path(m, "connectors_dir", default: connectorsDir)
    if let node = m.node("worker_id") {
      workerID = try node.string()
      if workerID.isEmpty { throw node.error("expected a name, got ''") }
    }
    let listen = try m.mapping("api", allowedKeys: ["listen"]).hostPort(
      "listen", default: (api.host, api.port))
    api = API(host: listen.host, port: listen.port)
    log = try Self.log(m.mapping("log", allowedKeys: Self.logKeys))
  }

  private static func path(_ m: ConfigMapping, _ key: String, default value: String)
    throws(ConfigError) -> String
  {
    guard let node = m.node(key) else { return value }
    let path = try node.string()
    if path.isEmpty { throw node.error("expected a path, got ''") }
    return path
  }

  private static func log(_ m: ConfigMapping) throws(ConfigError) -> Log {
    var log = Log()
    log.partitions = try m.int("partitions", default: log.partitions, range: 1...100_000)
    log.segmentBytes = try m.bytes("segment_bytes", default: log.segmentBytes)
    if let node = m.node("segment_bytes"), log.segmentBytes < 1024 {
      throw node.error("expected a size of at least 1KiB, got \(log.segmentBytes) bytes")
    }
    log.segmentMs = try m.durationMilliseconds("segment_ms", default: log.segmentMs)
    if let node = m.node("segment_ms"), log.segmentMs < 1 {
      throw node.error("expected a duration of at least 1ms")
    }

    switch (m.node("retention_hours"), m.node("retention_ms")) {
    case (let hours?, nil):
      let value = try hours.int(range: -1...(Int.max / 3_600_000))
      if value == 0 {
        throw hours.error(
          "expected a number of hours of at least 1, or -1 to keep segments forever")
      }
      log.retentionMs = value < 0 ? nil : Int64(value) * 3_600_000
    case (nil, let milliseconds?):
      log.retentionMs =
        try milliseconds.string() == "-1" ? nil : milliseconds.durationMilliseconds()
    case (_?, _?):
      throw m.entry("retention_ms")!.error("give either retention_hours or retention_ms, not both")
    case (nil, nil):
      break
    }
    log.retentionBytes = try m.optionalBytes("retention_bytes")

    log.fsync = FsyncMode(
      rawValue: try m.oneOf(
        "fsync", allowed: FsyncMode.allCases.map(\.rawValue), default: log.fsync.rawValue))!
    log.fsyncIntervalMs = try m.int(
      "fsync_interval_ms", default: log.fsyncIntervalMs, range: 1...3_600_000)

    let maxRecordBytes = try m.bytes("max_record_bytes", default: Int64(log.maxRecordBytes))
    if let node = m.node("max_record_bytes"), !(1...(64 << 20)).contains(maxRecordBytes) {
      throw node.error("expected a size from 1B to 64MiB, got \(maxRecordBytes) bytes")
    }
    log.maxRecordBytes = Int(maxRecordBytes)
    return log
  }
}
