import Logging
import Synchronization

/// States as Kafka Connect names them, so existing dashboards and scripts read them unchanged.
public enum ConnectorState: String, Sendable, Codable, CaseIterable {
  case unassigned = "UNASSIGNED"
  case running = "RUNNING"
  case paused = "PAUSED"
  case failed = "FAILED"
  case stopped = "STOPPED"
  /// Replaced by a new version that waits for the previous tasks to return.
  case restarting = "RESTARTING"
}

/// One task's status: Kafka Connect's `{"id","state","worker_id","trace"}` plus connector details.
public struct TaskStatus: Sendable, Codable, Equatable {
  public var id: Int
  public var state: ConnectorState
  public var workerID: String
  /// Why the task failed, or what it is retrying; nil when healthy.
  public var trace: String?
  public var restarts: Int = 0
  /// Connector-specific figures (slot, lag, progress…), see ``SourceTaskContext/setDetail(_:_:)``.
  public var details: [String: String] = [:]
  /// Problems the task reports while it runs (``TaskWarning``); nil when there are none.
  public var warnings: [TaskWarning]?

  enum CodingKeys: String, CodingKey {
    case id, state, trace, restarts, details, warnings
    case workerID = "worker_id"
  }

  public init(id: Int, state: ConnectorState, workerID: String, trace: String? = nil) {
    self.id = id
    self.state = state
    self.workerID = workerID
    self.trace = trace
  }
}

extension TaskStatus {
  /// Replaces (or with nil removes) the warning of `source`; no warnings is nil, so the status
  /// JSON has no `warnings` key while the task is healthy.
  public mutating func setWarning(_ source: String, _ warning: TaskWarning?) {
    var list = (warnings ?? []).filter { $0.source != source }
    if let warning { list.append(warning) }
    warnings = list.isEmpty ? nil : list
  }
}

/// A connector's status in Kafka Connect's shape (`GET /connectors/{name}/status`).
public struct ConnectorStatus: Sendable, Codable, Equatable {
  public struct Summary: Sendable, Codable, Equatable {
    public var state: ConnectorState
    public var workerID: String
    public var trace: String?

    enum CodingKeys: String, CodingKey {
      case state, trace
      case workerID = "worker_id"
    }

    public init(state: ConnectorState, workerID: String, trace: String?) {
      self.state = state
      self.workerID = workerID
      self.trace = trace
    }
  }

  public var name: String
  public var connector: Summary
  public var tasks: [TaskStatus]
  /// "source" or "sink".
  public var type: String
  /// The connector type as configured (`file`, `postgres-cdc`, …).
  public var connectorType: String
  public var configFile: String

  enum CodingKeys: String, CodingKey {
    case name, connector, tasks, type
    case connectorType = "connector_type"
    case configFile = "config_file"
  }

  public init(
    name: String, connector: Summary, tasks: [TaskStatus], type: String, connectorType: String,
    configFile: String
  ) {
    self.name = name
    self.connector = connector
    self.tasks = tasks
    self.type = type
    self.connectorType = connectorType
    self.configFile = configFile
  }
}

/// The live status of every connector, written by the runners and read by the admin API.
/// Changes of state (not of details) are handed to `onChange` as status-topic records, in the
/// order they happen (it is called with the board's lock held, so it must only enqueue).
///
/// With a `logger`, each change of a connector's or a task's state is also one log line
/// (``StateChangeLog``), written after the lock is let go.
public final class StatusBoard: Sendable {
  private let statuses = Mutex<[String: ConnectorStatus]>([:])
  private let onChange: (@Sendable ([StatusRecord]) -> Void)?
  private let stateLog: StateChangeLog?
  /// The topics each connector has used (KIP-558).
  public let topics: ActiveTopics

  public init(
    onChange: (@Sendable ([StatusRecord]) -> Void)? = nil,
    topics: ActiveTopics = ActiveTopics(path: nil),
    logger: Logger? = nil
  ) {
    self.onChange = onChange
    self.topics = topics
    self.stateLog = logger.map(StateChangeLog.init)
  }

  public func all() -> [ConnectorStatus] {
    statuses.withLock { $0.values.sorted { $0.name < $1.name } }
  }

  public func status(of name: String) -> ConnectorStatus? {
    statuses.withLock { $0[name] }
  }

  public func set(_ status: ConnectorStatus) {
    let masked = status.maskingCredentials()
    let changes = statuses.withLock {
      let old = $0[status.name]
      publish(from: old, to: masked)
      $0[status.name] = masked
      return StateChangeLog.changes(from: old, to: masked)
    }
    stateLog?.write(changes)
  }

  public func remove(_ name: String) {
    statuses.withLock { publish(from: $0.removeValue(forKey: name), to: nil) }
  }

  /// Changes one task of one connector, if both are still known.
  public func updateTask(_ name: String, _ index: Int, _ change: (inout TaskStatus) -> Void) {
    let changes = statuses.withLock { all -> [StateChangeLog.Change] in
      guard var status = all[name], index < status.tasks.count else { return [] }
      change(&status.tasks[index])
      status.tasks[index] = status.tasks[index].maskingCredentials()
      let old = all[name]
      publish(from: old, to: status)
      all[name] = status
      return StateChangeLog.changes(from: old, to: status)
    }
    stateLog?.write(changes)
  }

  private func publish(from old: ConnectorStatus?, to new: ConnectorStatus?) {
    guard let onChange else { return }
    let records = StatusRecord.changes(from: old, to: new)
    if !records.isEmpty { onChange(records) }
  }
}

// Traces quote connector errors, which quote URLs: the board never holds a URL's password.
extension ConnectorStatus {
  func maskingCredentials() -> ConnectorStatus {
    var s = self
    s.connector.trace = s.connector.trace.map(CredentialMask.masking)
    s.tasks = s.tasks.map { $0.maskingCredentials() }
    return s
  }
}

extension TaskStatus {
  func maskingCredentials() -> TaskStatus {
    var t = self
    t.trace = t.trace.map(CredentialMask.masking)
    t.details = t.details.mapValues(CredentialMask.masking)
    t.warnings = t.warnings?.map { warning in
      var masked = warning
      masked.message = CredentialMask.masking(warning.message)
      return masked
    }
    return t
  }
}
