import Foundation

/// The worker file (`Config/worker.yaml`, DESIGN.md §4): where data and connector files live,
/// where the admin API listens, where topics live (`store:`) and how the embedded log behaves.
public struct WorkerConfig: Sendable {
  /// `fsync:` — when an append counts as durable.
  public enum FsyncMode: String, Sendable { case batch, interval, none }

  /// The `log:` section.
  public struct Log: Sendable {
    public var partitions = 1
    public var segmentBytes: Int64 = 256 << 20
    public var segmentMs: Int64 = 7 * 86_400_000
    public var retentionMs: Int64? = 168 * 3_600_000
    public var retentionBytes: Int64?
    public var fsync: FsyncMode = .batch
    public var fsyncIntervalMs = 1000
    public var maxRecordBytes = 1 << 20
    /// Topics the log may hold (`log.max_topics`): templated webhooks, the produce API and
    /// dead-letter topics create topics on first write, and this bounds them.
    public var maxTopics = 10_000
  }

  public var dataDir = "data"
  public var connectorsDir = "Config/connectors"
  public var api: (host: String, port: Int) = ("127.0.0.1", 8083)
  public var log = Log()
  /// `store:` — the embedded log (default) or a Kafka cluster.
  public var store: StoreConfig = .embedded
  public var listeners = ListenerLimits()
  /// `kafka:` — the Kafka listener, nil (off) unless the section is there.
  public var kafka: KafkaListenerConfig?
  public var workerID = ProcessInfo.processInfo.hostName
  /// `secrets_dirs:` — the folders connector files' `${file:}` may read under; nil means only
  /// `connectors_dir` itself (the folder that holds those files). Relative to the worker file.
  public var secretsDirs: [String]?
  /// `connector_removal_grace_ms:` — how long a connector file must stay gone before the
  /// connector's destructive cleanup (dropping a CDC slot, for instance) runs.
  public var connectorRemovalGraceMs: Int64 = 10_000
  /// `task_shutdown_graceful_timeout_ms:` — how long a stopping connector task may take to
  /// finish its batch and commit before it is cancelled (Kafka Connect's name and default).
  public var taskShutdownGracefulTimeoutMs: Int64 = 5_000
  public var file: String

  /// The rules for `${…}` in connector files.
  public func connectorInterpolation(environment: [String: String]) -> Interpolation {
    Interpolation(environment: environment, secretsDirectories: secretsDirs ?? [connectorsDir])
  }

  public static func load(
    path: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(ConfigError)
    -> WorkerConfig
  {
    try from(ConfigNode.load(path: path, environment: environment))
  }

  public static func parse(
    text: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment
  )
    throws(ConfigError) -> WorkerConfig
  {
    try from(
      ConfigNode.parse(
        text: text, file: file,
        interpolation: .beside(file, environment: environment)))
  }

  static func from(_ root: ConfigNode) throws(ConfigError) -> WorkerConfig {
    var config = WorkerConfig(file: root.file)
    let m = try root.mapping(allowedKeys: [
      "data_dir", "connectors_dir", "api", "log", "worker_id", "listeners", "secrets_dirs",
      "connector_removal_grace_ms", "task_shutdown_graceful_timeout_ms", "kafka",
      "store",
    ])
    config.dataDir = try m.string("data_dir", default: config.dataDir)
    config.connectorsDir = try m.string("connectors_dir", default: config.connectorsDir)
    config.workerID = try m.string("worker_id", default: config.workerID)
    if let listeners = m.node("listeners") { config.listeners = try ListenerLimits(listeners) }
    if let kafka = m.node("kafka") { config.kafka = try KafkaListenerConfig(kafka) }
    if let store = m.node("store") { config.store = try StoreConfig(store) }
    if case .kafka = config.store, let listener = m.node("kafka") {
      throw listener.error(
        "the kafka listener serves the embedded log; with store kind kafka, Kafka clients use the cluster itself (remove kafka:)"
      )
    }
    if let dirs = m.node("secrets_dirs") {
      let base = Interpolation.folder(of: root.file)
      config.secretsDirs = try dirs.stringList().map {
        $0.hasPrefix("/") ? $0 : (base as NSString).appendingPathComponent($0)
      }
    }
    config.connectorRemovalGraceMs = try m.durationMilliseconds(
      "connector_removal_grace_ms", default: config.connectorRemovalGraceMs)
    config.taskShutdownGracefulTimeoutMs = try m.durationMilliseconds(
      "task_shutdown_graceful_timeout_ms", default: config.taskShutdownGracefulTimeoutMs)
    if let api = m.node("api") {
      config.api = try api.mapping(allowedKeys: ["listen"]).hostPort("listen", default: config.api)
    }
    if let log = m.node("log") {
      let l = try log.mapping(allowedKeys: [
        "partitions", "segment_bytes", "segment_ms", "retention_hours", "retention_ms",
        "retention_bytes", "fsync",
        "fsync_interval_ms", "max_record_bytes", "max_topics",
      ])
      config.log.partitions = try l.int("partitions", default: 1, range: 1...10_000)
      config.log.segmentBytes = try l.bytes("segment_bytes", default: config.log.segmentBytes)
      if config.log.segmentBytes < 1024, let n = l.node("segment_bytes") {
        throw n.error("a segment needs at least 1KiB")
      }
      // Index entries hold positions and offsets within a segment in 32 bits, as Kafka's do
      // (its log.segment.bytes stops at 2^31 - 1 too).
      if config.log.segmentBytes > Int64(Int32.max), let n = l.node("segment_bytes") {
        throw n.error("a segment holds at most 2GiB - 1B (2147483647 bytes), as in Kafka")
      }
      config.log.segmentMs = try l.durationMilliseconds("segment_ms", default: config.log.segmentMs)
      if let hours = l.node("retention_hours") {
        let ms = try hours.double() * 3_600_000
        guard ms >= 0, ms <= Double(ConfigNode.maximumMilliseconds) else {
          throw hours.error("expected hours from 0 to 876000, got \(hours.kindDescription)")
        }
        config.log.retentionMs = Int64(ms)
      }
      if let ms = l.node("retention_ms") { config.log.retentionMs = try ms.durationMilliseconds() }
      config.log.retentionBytes = try l.optionalBytes("retention_bytes")
      config.log.fsync = FsyncMode(
        rawValue: try l.oneOf("fsync", allowed: ["batch", "interval", "none"], default: "batch"))!
      config.log.fsyncIntervalMs = try l.int(
        "fsync_interval_ms", default: 1000, range: 1...3_600_000)
      let maxRecord = try l.bytes("max_record_bytes", default: Int64(config.log.maxRecordBytes))
      guard maxRecord >= 1, maxRecord <= 64 << 20 else {
        throw try l.required("max_record_bytes").error("expected a size from 1B to 64MiB")
      }
      config.log.maxRecordBytes = Int(maxRecord)
      config.log.maxTopics = try l.int(
        "max_topics", default: config.log.maxTopics, range: 1...1_000_000)
    }
    return config
  }
}
