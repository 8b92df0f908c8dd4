import SluiceCore

/// Everything the dashboard shows, as `GET /ui/state` answers it and the page polls it: the
/// worker, each connector with its tasks, charts, dead letters, slots and snapshot, and the
/// topics with their offsets. The page renders its first view from the same value.
struct DashboardState: Encodable {
  var worker: WorkerSummary
  /// When this state was read (ms since 1970).
  var generatedAt: Int64
  /// How often the charts get a point, and how far back they reach.
  var sampleIntervalMs: Int64
  var windowMs: Int64
  var connectors: [ConnectorView]
  var topics: [TopicSummary]
  /// Why the topics could not be listed (a Kafka cluster out of reach); the connectors are
  /// still shown.
  var topicsError: String?

  enum CodingKeys: String, CodingKey {
    case worker, connectors, topics
    case topicsError = "topics_error"
    case generatedAt = "generated_at"
    case sampleIntervalMs = "sample_interval_ms"
    case windowMs = "window_ms"
  }
}

/// The page's header line.
struct WorkerSummary: Encodable {
  var id: String
  var version: String
  var kafkaConnectVersion: String
  var store: StoreDescription

  enum CodingKeys: String, CodingKey {
    case id, version, store
    case kafkaConnectVersion = "kafka_connect_version"
  }
}

/// A value with its chart: `latest` is what the table shows, `points` what the sparkline draws.
struct Chart: Encodable, Equatable {
  var latest: Double?
  var points: [ChartPoint]

  static let empty = Chart(latest: nil, points: [])
}

/// One connector as the dashboard shows it.
struct ConnectorView: Encodable {
  var name: String
  /// "source" or "sink".
  var type: String
  var connectorType: String
  var state: ConnectorState
  var trace: String?
  var tasks: [TaskView]
  /// Records per second, all tasks together (written to topics by a source, delivered by a sink).
  var throughput: Chart
  /// Records a sink has yet to deliver, all partitions together; nil for sources.
  var lag: Chart?
  var deadLetters: DeadLetterView
  var slots: [SlotView]
  var snapshot: SnapshotView?

  enum CodingKeys: String, CodingKey {
    case name, type, state, trace, tasks, throughput, lag, slots, snapshot
    case connectorType = "connector_type"
    case deadLetters = "dead_letters"
  }
}

/// One task: its status as `GET /connectors/{c}/tasks/{t}/status` gives it (state, trace,
/// restarts, details), and its own records per second.
struct TaskView: Encodable {
  var status: TaskStatus
  var throughput: Chart

  var state: ConnectorState { status.state }

  enum CodingKeys: String, CodingKey {
    case throughput
  }

  func encode(to encoder: any Encoder) throws {
    // The status's fields at the top level, beside the chart.
    try status.encode(to: encoder)
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(throughput, forKey: .throughput)
  }
}

/// A connector's dead-letter topic and how many records went there. The page reads the newest
/// of them (with their `sluice.error.reason` headers) from the topic routes when asked.
struct DeadLetterView: Encodable {
  var topic: String
  /// Records sent there since the worker started; nil when nothing counts them.
  var count: Double?
  /// Whether the topic exists yet, so the page asks only for one that does.
  var topicExists: Bool

  enum CodingKeys: String, CodingKey {
    case topic, count
    case topicExists = "topic_exists"
  }
}

/// A CDC replication slot: the WAL it holds back and the thresholds its connector warns and
/// fails at.
struct SlotView: Encodable {
  var slot: String
  var retainedWALBytes: Chart
  var warnBytes: Int64?
  var failBytes: Int64?

  enum CodingKeys: String, CodingKey {
    case slot
    case retainedWALBytes = "retained_wal_bytes"
    case warnBytes = "warn_bytes"
    case failBytes = "fail_bytes"
  }
}

/// How far a CDC connector's initial snapshot is.
struct SnapshotView: Encodable, Equatable {
  /// Done so far, 0…1, when it can be told.
  var fraction: Double?
  var remainingTables: Int?
  var totalTables: Int?
  var rows: Int64?
  /// The connector's own words (`running: table 2/5 public.orders, 1200/~5000 rows`).
  var text: String?

  enum CodingKeys: String, CodingKey {
    case fraction, rows, text
    case remainingTables = "remaining_tables"
    case totalTables = "total_tables"
  }
}
