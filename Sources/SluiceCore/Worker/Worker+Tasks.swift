import Logging
import Synchronization

// MARK: - Starting, stopping and removing one connector

extension Worker {
  /// Starts a connector's tasks — once whatever ran under its name before has returned.
  func start(_ definition: ConnectorDefinition, _ connector: ConfiguredConnector) {
    let name = definition.name
    var log = logger
    log[metadataKey: "connector"] = "\(name)"
    // Waited for: a stopping incarnation (not cancelled here — it is finishing its batch), or
    // a removal (``apply`` has called off one still in its grace period; a cleanup under way
    // runs to its end).
    let previous = retiring.removeValue(forKey: name)
    let board = status
    // Only the tasks the connector declares run (and show in status), as in Kafka Connect.
    let count = connector.taskCount(maxTasks: definition.tasks)
    var fresh = Self.initialStatus(definition, tasks: count, workerID: workerID)
    if targetStates.state(of: name) == .paused { fresh.connector.state = .paused }
    if previous != nil {
      // No tasks yet: the old ones' last status updates find nothing to change.
      var waiting = fresh
      waiting.connector.state = .restarting
      waiting.connector.trace = "waiting for the previous task to stop"
      waiting.tasks = []
      board.set(waiting)
    } else {
      board.set(fresh)
    }
    let gate = PauseGate(paused: targetStates.state(of: name) == .paused)
    let restarts = (0..<count).map { _ in TaskRestartSignal() }
    let run = ConnectorRun(
      tasks: makeRunners(definition, connector, gate: gate, restarts: restarts, logger: log),
      gracePeriod: taskStopGrace, logger: log)
    let warnAfter = slowStopWarning
    // Detached: the incarnation must not inherit the graceful shutdown of whichever service
    // applied the change (the folder watcher); the worker stops it itself.
    let task = Task.detached {
      if let previous {
        await Self.waitForPrevious(previous, warnAfter: warnAfter, logger: log)
        // Replaced again while waiting: the newer incarnation waits for this one.
        if run.isStopped { return }
        board.set(fresh)
      }
      await run.run()
    }
    running[name] = Running(
      definition: definition, connector: connector, run: run, task: task, gate: gate,
      restarts: restarts)
  }

  /// Asks a connector's tasks to stop gracefully, without waiting; whatever runs next under its
  /// name waits for them.
  @discardableResult
  func stop(_ name: String) -> Task<Void, Never>? {
    guard let current = running.removeValue(forKey: name) else { return nil }
    let run = current.run
    Task { await run.stop() }
    retiring[name] = current.task
    return current.task
  }

  /// The removal's cleanup: after the tasks have returned and the grace period has passed with
  /// no file bringing the connector back (which cancels this task), `removed()` runs.
  func scheduleRemoval(_ name: String, _ removal: Removal, after stopped: Task<Void, Never>?)
    -> Task<Void, Never>
  {
    let grace = removalGrace
    let log = logger
    let connector = removal.connector
    return Task {
      await stopped?.value
      // The tasks have returned: a removed connector leaves `/metrics` (unless its file came
      // back meanwhile; the new tasks count on).
      if !Task.isCancelled {
        let kind: ConnectorPlugin.Kind = if case .source = connector { .source } else { .sink }
        TaskMetrics.remove(kind: kind, connector: name, tasks: removal.tasks)
      }
      do {
        try await Task.sleep(for: grace)
      } catch {
        log.info("connector is back; its removal is called off", metadata: ["connector": "\(name)"])
        return
      }
      log.info("connector removal is final; cleaning up", metadata: ["connector": "\(name)"])
      // Not cancelled half-way: a connector that comes back now waits for the cleanup to end.
      let cleanup = Task {
        switch connector {
        case .source(let c): await c.removed()
        case .sink(let c): await c.removed()
        }
      }
      await cleanup.value
      // Done: a later file at the same path has nothing to call off.
      if pendingRemovals[name]?.id == removal.id { pendingRemovals[name] = nil }
    }
  }

  /// Graceful shutdown: every task stops taking input, finishes its batch and commits; a task
  /// still running after ``taskStopGrace`` is cancelled. Waits at most `timeout` (by default a
  /// second past the grace period) and then returns without the tasks that have not returned.
  /// Pending removals are called off (the cleanup is destructive; a shutdown is not a removal).
  public func stopAll(timeout: Duration? = nil) async {
    let runs = running.values.map(\.run)
    let tasks = running.values.map(\.task) + retiring.values
    let names = Array(running.keys)
    for name in pendingRemovals.keys { retiring[name]?.cancel() }
    running.removeAll()
    retiring.removeAll()
    pendingRemovals.removeAll()
    suspendedRemovals.removeAll()
    for run in runs { await run.stop() }
    let limit = timeout ?? taskStopGrace + .seconds(1)
    if await !Self.allReturn(tasks, within: limit) {
      for task in tasks { task.cancel() }
      logger.warning(
        "some connector tasks did not stop in time; shutting down without them",
        metadata: ["waited": "\(limit)"])
    }
    for name in names {
      if var s = status.status(of: name) {
        s.connector.state = .stopped
        for i in s.tasks.indices { s.tasks[i].state = .stopped }
        status.set(s)
      }
    }
  }

  private func makeRunners(
    _ definition: ConnectorDefinition, _ connector: ConfiguredConnector, gate: PauseGate,
    restarts: [TaskRestartSignal], logger log: Logger
  ) -> [@Sendable () async -> Void] {
    let count = restarts.count
    // A source may take over the chain's first transform (TransformFusingSource); its tasks
    // then run the rest of the chain.
    let (connector, sourceTransforms) = Self.fusingFirstTransform(connector, definition.transforms)
    return (0..<count).map { index -> @Sendable () async -> Void in
      // Every line a task logs — the runner's and its connector's, through the context's
      // logger — names the connector and the task.
      var log = log
      log[metadataKey: "task"] = "\(index)"
      switch connector {
      case .source(let source):
        let runner = SourceTaskRunner(
          connector: source, name: definition.name, index: index, count: count, store: store,
          offsets: offsets, status: status, logger: log, gate: gate, restart: restarts[index],
          transforms: sourceTransforms, errors: definition.sinkErrorPolicy)
        return { await runner.run() }
      case .sink(let sink):
        let runner = SinkTaskRunner(
          connector: sink, name: definition.name, index: index, count: count,
          topics: definition.topics, policy: definition.sinkErrorPolicy, store: store,
          status: status, logger: log, gate: gate, restart: restarts[index],
          transforms: definition.transforms)
        return { await runner.run() }
      }
    }
  }

  /// A source connector with its chain's first transform taken over when it offers to
  /// (``TransformFusingSource``), and the chain its tasks still run; sinks as they are.
  private static func fusingFirstTransform(
    _ connector: ConfiguredConnector, _ transforms: TransformChain
  ) -> (ConfiguredConnector, TransformChain) {
    guard case .source(let source) = connector else { return (connector, transforms) }
    let fused = transforms.fused(into: source)
    return (.source(fused.source), fused.chain)
  }

  /// Whether every task returned within `timeout`. Not a task group: a group waits for all its
  /// children before it returns, and waiting for a task's value cannot be cancelled, so a group
  /// racing "all returned" against a timer would still wait for the slowest task.
  static func allReturn(_ tasks: [Task<Void, Never>], within timeout: Duration) async -> Bool {
    await withCheckedContinuation { continuation in
      let outcome = FirstOutcome(continuation)
      Task {
        for task in tasks { await task.value }
        outcome.resume(true)
      }
      Task {
        try? await Task.sleep(for: timeout)
        outcome.resume(false)
      }
    }
  }

  /// Waits, as long as it takes, for the previous incarnation; says so once if it is slow.
  private static func waitForPrevious(
    _ previous: Task<Void, Never>, warnAfter: Duration, logger: Logger
  ) async {
    let warning = Task {
      try await Task.sleep(for: warnAfter)
      logger.warning(
        "the previous tasks have not stopped yet; the replacement waits for them",
        metadata: ["waited": "\(warnAfter)"])
    }
    await previous.value
    warning.cancel()
  }

  /// A connector's status as its `tasks` tasks start: UNASSIGNED each.
  static func initialStatus(_ definition: ConnectorDefinition, tasks: Int, workerID: String)
    -> ConnectorStatus
  {
    let (kind, type): (String, String) =
      switch definition.role {
      case .source(let t): ("source", t)
      case .sink(let t): ("sink", t)
      }
    return ConnectorStatus(
      name: definition.name, connector: .init(state: .running, workerID: workerID, trace: nil),
      tasks: (0..<tasks).map {
        TaskStatus(id: $0, state: .unassigned, workerID: workerID)
      },
      type: kind, connectorType: type, configFile: definition.file)
  }
}

extension StatusBoard {
  /// Sets the connector-level trace (a config change that was not applied, for instance).
  func setConnectorTrace(_ name: String, _ trace: String?) {
    guard var s = status(of: name) else { return }
    s.connector.trace = trace
    set(s)
  }
}

extension ConnectorStatus {
  /// The name shown for a file whose connector cannot run under its own name: the file's base
  /// name, or the whole file name when the base is a name another connector holds.
  static func placeholderName(forFile file: String, avoiding taken: Set<String> = []) -> String {
    let base = file.split(separator: "/").last.map(String.init) ?? file
    let short = base.split(separator: ".").first.map(String.init) ?? base
    return taken.contains(short) ? base : short
  }

  static func invalid(name: String, file: String, error: String, workerID: String)
    -> ConnectorStatus
  {
    ConnectorStatus(
      name: name, connector: .init(state: .failed, workerID: workerID, trace: error), tasks: [],
      type: "unknown",
      connectorType: "unknown", configFile: file)
  }
}

/// Resumes a continuation with the first of several racing outcomes and ignores the rest.
private final class FirstOutcome: Sendable {
  private let pending: Mutex<CheckedContinuation<Bool, Never>?>

  init(_ continuation: CheckedContinuation<Bool, Never>) { pending = Mutex(continuation) }

  func resume(_ value: Bool) {
    pending.withLock { continuation in
      continuation?.resume(returning: value)
      continuation = nil
    }
  }
}
