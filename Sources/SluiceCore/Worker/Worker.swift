import Logging

/// The runtime: starts, restarts and stops connectors and their tasks as their definitions come
/// and go, and owns the store, the offsets and the status board they share (DESIGN.md §3).
///
/// It knows no connector by name and no store by layout; the executable hands it a
/// ``ConnectorRegistry`` and a ``TopicStore``.
///
/// Two guarantees shape it: a connector's replacement never runs beside the incarnation it
/// replaces (the new tasks start only once the old ones have returned, however long that takes),
/// and a removed connector's destructive cleanup (``SourceConnector/removed()``, which may drop a
/// replication slot) runs only after the removal has held for ``removalGrace``.
public actor Worker {
  public nonisolated let store: any TopicStore
  public nonisolated let offsets: any OffsetStore
  public nonisolated let registry: ConnectorRegistry
  public nonisolated let status: StatusBoard
  public nonisolated let workerID: String
  /// How long a connector must stay removed before its `removed()` hook runs.
  public nonisolated let removalGrace: Duration
  /// How long a stopping task may take to finish its batch and commit before it is cancelled
  /// (`task_shutdown_graceful_timeout_ms`, Kafka Connect's `task.shutdown.graceful.timeout.ms`).
  public nonisolated let taskStopGrace: Duration
  /// How long a stopping task may take before the wait for it is logged.
  nonisolated let slowStopWarning: Duration
  /// What the admin API asked each connector to do (run, pause, stop), kept across restarts.
  public nonisolated let targetStates: TargetStateFile
  let logger: Logger

  /// One incarnation of a running connector: the definition it runs, its tasks, and the task
  /// that runs them.
  struct Running {
    var definition: ConnectorDefinition
    var connector: ConfiguredConnector
    var run: ConnectorRun
    /// Waits for the previous incarnation, then runs every task; returns when all have.
    var task: Task<Void, Never>
    /// Holds the tasks while the connector is paused.
    var gate: PauseGate
    /// One per task, to restart it in place.
    var restarts: [TaskRestartSignal]
  }

  /// A connector asked to stop (KIP-875): valid and known, with no tasks.
  struct Stopped {
    var definition: ConnectorDefinition
    var connector: ConfiguredConnector
  }

  var running: [String: Running] = [:]
  var stopped: [String: Stopped] = [:]

  /// Per connector name, what must have returned before that name may run again: its last
  /// stopped incarnation, or the pending removal that waits for it.
  var retiring: [String: Task<Void, Never>] = [:]
  /// A removed connector whose cleanup has not run: the file that went, and the connector.
  struct Removal {
    var file: String
    var connector: ConfiguredConnector
    /// Tells this removal from a later one of the same name.
    var id: UInt64
    /// How many tasks it ran: their metrics go once they have stopped.
    var tasks: Int
  }

  var removalCount: UInt64 = 0

  /// Removals waiting out the grace period, by connector name.
  var pendingRemovals: [String: Removal] = [:]
  /// Removals put on hold because the file came back invalid; they resume when it goes again.
  var suspendedRemovals: [String: Removal] = [:]
  /// Connectors whose latest file is invalid, by connector name, shown as FAILED.
  private var invalid: Set<String> = []

  public init(
    store: any TopicStore, offsets: any OffsetStore, registry: ConnectorRegistry,
    status: StatusBoard = StatusBoard(),
    workerID: String, removalGrace: Duration = .seconds(10),
    taskStopGrace: Duration = .seconds(5), slowStopWarning: Duration = .seconds(10),
    targetStates: TargetStateFile? = nil, logger: Logger
  ) {
    // In memory unless the executable hands over the one in data_dir.
    self.targetStates = targetStates ?? (try! TargetStateFile(path: nil))
    self.store = store
    self.offsets = offsets
    self.registry = registry
    self.status = status
    self.workerID = workerID
    self.removalGrace = removalGrace
    self.taskStopGrace = taskStopGrace
    self.slowStopWarning = slowStopWarning
    self.logger = logger
  }

  /// Makes the running connectors match `definitions`: starts new ones, restarts changed ones,
  /// stops removed ones. A file that has become invalid (`errors`) leaves its running connector
  /// as it was and shows the error in its status.
  ///
  /// It does not wait for stopping tasks: a replacement waits for them on its own, so one slow
  /// connector does not hold up the others.
  public func apply(_ definitions: [ConnectorDefinition], errors: [ConfigError]) {
    let erroredFiles = Set(errors.map(\.file))
    let wanted = Dictionary(
      definitions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    for (name, current) in running
    where wanted[name] == nil && !erroredFiles.contains(current.definition.file) {
      logger.info(
        "connector removed; its cleanup runs if the removal holds",
        metadata: ["connector": "\(name)", "grace": "\(removalGrace)"])
      let stopped = stop(name)
      status.remove(name)
      status.topics.reset(name)
      try? targetStates.forget(name)
      removalCount += 1
      let removal = Removal(
        file: current.definition.file, connector: current.connector, id: removalCount,
        tasks: current.restarts.count)
      retiring[name] = scheduleRemoval(name, removal, after: stopped)
      pendingRemovals[name] = removal
    }
    for (name, current) in stopped
    where wanted[name] == nil && !erroredFiles.contains(current.definition.file) {
      logger.info(
        "stopped connector removed; its cleanup runs if the removal holds",
        metadata: ["connector": "\(name)", "grace": "\(removalGrace)"])
      stopped[name] = nil
      status.remove(name)
      status.topics.reset(name)
      try? targetStates.forget(name)
      removalCount += 1
      let removal = Removal(
        file: current.definition.file, connector: current.connector, id: removalCount,
        tasks: current.connector.taskCount(maxTasks: current.definition.tasks))
      retiring[name] = scheduleRemoval(name, removal, after: retiring[name])
      pendingRemovals[name] = removal
    }
    // A file that is back, even invalid, is not gone: the cleanup waits until it goes again.
    for (name, removal) in pendingRemovals
    where erroredFiles.contains(removal.file) || wanted[name] != nil {
      pendingRemovals[name] = nil
      retiring[name]?.cancel()
      if wanted[name] == nil { suspendedRemovals[name] = removal }
    }
    for (name, removal) in suspendedRemovals where !erroredFiles.contains(removal.file) {
      suspendedRemovals[name] = nil
      guard wanted[name] == nil else { continue }
      logger.info(
        "connector file gone again; its cleanup runs if the removal holds",
        metadata: ["connector": "\(name)"])
      retiring[name] = scheduleRemoval(name, removal, after: retiring[name])
      pendingRemovals[name] = removal
    }

    let taken = Set(running.keys).union(wanted.keys)
    var shownInvalid: Set<String> = []
    for error in errors {
      let affected = running.values.first { $0.definition.file == error.file }
      if let affected {
        logger.error(
          "connector file is invalid; keeping the running version", metadata: ["error": "\(error)"])
        status.setConnectorTrace(affected.definition.name, "config not applied: \(error)")
      } else {
        let name = ConnectorStatus.placeholderName(forFile: error.file, avoiding: taken)
        shownInvalid.insert(name)
        status.set(
          ConnectorStatus.invalid(
            name: name, file: error.file, error: "\(error)", workerID: workerID))
      }
    }
    for name in invalid.subtracting(shownInvalid) where running[name] == nil {
      status.remove(name)
    }
    invalid = shownInvalid

    for definition in definitions.sorted(by: { $0.name < $1.name }) {
      let current = running[definition.name]?.definition ?? stopped[definition.name]?.definition
      if current?.fingerprint == definition.fingerprint { continue }
      let connector: ConfiguredConnector
      do {
        connector = try registry.instantiate(definition)
      } catch {
        if current != nil {
          logger.error(
            "connector config is invalid; keeping the running version",
            metadata: ["error": "\(error)"])
          status.setConnectorTrace(definition.name, "config not applied: \(error)")
        } else {
          logger.error("connector config is invalid", metadata: ["error": "\(error)"])
          invalid.insert(definition.name)
          status.set(
            ConnectorStatus.invalid(
              name: definition.name, file: definition.file, error: "\(error)", workerID: workerID))
        }
        continue
      }
      invalid.remove(definition.name)
      if targetStates.state(of: definition.name) == .stopped {
        if running[definition.name] != nil { stop(definition.name) }
        logger.info("connector is stopped", metadata: ["connector": "\(definition.name)"])
        keepStopped(definition, connector)
        continue
      }
      if running[definition.name] != nil {
        logger.info("connector changed; restarting", metadata: ["connector": "\(definition.name)"])
        stop(definition.name)
      } else {
        logger.info("connector starting", metadata: ["connector": "\(definition.name)"])
      }
      stopped[definition.name] = nil
      start(definition, connector)
    }
  }

  /// Shows (or, with nil, clears) a `connectors_dir` that cannot be read, as a FAILED entry in
  /// status and `/health`; nothing runs or stops because of it.
  public func setFolderProblem(_ error: ConfigError?, folder: String) {
    let name = "connectors_dir"
    if let error {
      status.set(
        ConnectorStatus.invalid(name: name, file: folder, error: "\(error)", workerID: workerID))
    } else if running[name] == nil {
      status.remove(name)
    }
  }

  /// The file each running connector came from: a second file that claims the same name does
  /// not take it over (``ConnectorFolderReader``).
  public var nameOwners: [String: String] {
    running.mapValues(\.definition.file).merging(
      stopped.mapValues(\.definition.file), uniquingKeysWith: { a, _ in a })
  }

  public var runningConnectors: [String] { running.keys.sorted() }

  /// The definition of every valid connector, running, paused or stopped, by name.
  public var definitions: [String: ConnectorDefinition] {
    running.mapValues(\.definition).merging(
      stopped.mapValues(\.definition), uniquingKeysWith: { a, _ in a })
  }
}
