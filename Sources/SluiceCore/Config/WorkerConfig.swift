import Foundation

/// The worker file (`Config/worker.yaml`, DESIGN.md §4): where data and connector files live,
/// where the admin API listens and where topics live (`store:`, with `log:` for the embedded log).
public struct WorkerConfig: Sendable {
  public var dataDir = "data"
  public var connectorsDir = "Config/connectors"
  /// `api:` — the admin API's address, access and TLS (``APIConfig``).
  public var api = APIConfig()
  /// `store:` — the embedded log (default, with the `log:` section's settings) or a Kafka
  /// cluster.
  public var store: StoreConfig = .embedded(EmbeddedStoreConfig())
  public var listeners = ListenerLimits()
  /// `kafka:` — the Kafka listener, nil (off) unless the section is there.
  public var kafka: KafkaListenerConfig?
  /// `dashboard:` — how often the dashboard's charts sample the worker's metrics.
  public var dashboard = DashboardConfig()
  public var workerID = ProcessInfo.processInfo.hostName
  /// `secrets_dirs:` — the folders connector files' `${file:}` may read under; nil means only
  /// `connectors_dir` itself (the folder that holds those files). Relative to the worker file.
  public var secretsDirs: [String]?
  /// `connector_removal_grace_ms:` — how long a connector file must stay gone before the
  /// connector's destructive cleanup (dropping a CDC slot, for instance) runs.
  public var connectorRemovalGrace: Duration = .seconds(10)
  /// `task_shutdown_graceful_timeout_ms:` — how long a stopping connector task may take to
  /// finish its batch and commit before it is cancelled (Kafka Connect's name and default).
  public var taskShutdownGracefulTimeout: Duration = .seconds(5)
  /// `log_format:` — how the worker writes its log lines to standard error.
  public var logFormat: LogFormat = .text
  /// `metrics:` — whether the worker collects its Prometheus metrics (`GET /metrics`); off,
  /// nothing is recorded and `/metrics` says so. For measuring what collecting costs.
  public var metrics = true
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
      "store", "dashboard", "log_format", "metrics",
    ])
    config.dataDir = try m.string("data_dir", default: config.dataDir)
    config.connectorsDir = try m.string("connectors_dir", default: config.connectorsDir)
    config.workerID = try m.string("worker_id", default: config.workerID)
    config.metrics = try m.bool("metrics", default: config.metrics)
    if let listeners = m.node("listeners") { config.listeners = try ListenerLimits(listeners) }
    if let kafka = m.node("kafka") { config.kafka = try KafkaListenerConfig(kafka) }
    if let store = m.node("store") { config.store = try StoreConfig(store) }
    if let dashboard = m.node("dashboard") { config.dashboard = try DashboardConfig(dashboard) }
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
    config.connectorRemovalGrace = try m.duration(
      "connector_removal_grace_ms", default: config.connectorRemovalGrace)
    config.taskShutdownGracefulTimeout = try m.duration(
      "task_shutdown_graceful_timeout_ms", default: config.taskShutdownGracefulTimeout)
    config.logFormat = LogFormat(
      rawValue: try m.oneOf(
        "log_format", allowed: LogFormat.allCases.map(\.rawValue), default: LogFormat.text.rawValue)
    )!
    if let api = m.node("api") {
      config.api = try APIConfig(api)
    }
    if let log = m.node("log") {
      guard case .embedded = config.store else {
        throw log.error(
          "log: configures the embedded log; with store kind kafka the cluster keeps the topics (remove log:)"
        )
      }
      config.store = .embedded(try EmbeddedStoreConfig(log))
    }
    return config
  }
}

/// How log lines are written: `text` for people (swift-log's stream format), `json` for log
/// shippers (one JSON object per line, ``JSONLogHandler``).
public enum LogFormat: String, Sendable, CaseIterable {
  case text
  case json
}
