// MARK: - What the admin API asks of one connector: pause, resume, stop, restart

/// Why the worker could not do what the admin API asked; the API answers with `status`.
public struct WorkerControlError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable { case notFound, conflict, badRequest, failed }
  public var kind: Kind
  public var description: String

  init(_ kind: Kind, _ description: String) {
    self.kind = kind
    self.description = description
  }

  static func unknown(_ name: String) -> Self { Self(.notFound, "Connector \(name) not found") }
}

extension Worker {
  /// Sets what a connector should do and remembers it across restarts of the worker. Pausing
  /// holds the tasks where they are; stopping ends them (config and offsets stay); running
  /// resumes a paused connector or starts a stopped one. Returns the stopping tasks, which the
  /// caller may wait for (they finish their batch, at most for the worker's stop grace).
  @discardableResult
  public func setTargetState(_ state: TargetState, for name: String) throws -> Task<Void, Never>? {
    guard running[name] != nil || stopped[name] != nil else { throw WorkerControlError.unknown(name) }
    do {
      try targetStates.set(state, for: name)
    } catch {
      throw WorkerControlError(.failed, "cannot record the connector's state: \(error)")
    }
    switch state {
    case .stopped:
      guard let current = running[name] else { return retiring[name] }
      logger.info("connector stopping on request", metadata: ["connector": "\(name)"])
      let stopping = stop(name)
      keepStopped(current.definition, current.connector)
      return stopping
    case .paused, .running:
      if let parked = stopped.removeValue(forKey: name) {
        logger.info("stopped connector starting on request", metadata: ["connector": "\(name)"])
        start(parked.definition, parked.connector)
        return nil
      }
      guard let current = running[name] else { return nil }
      let pause = state == .paused
      logger.info(
        pause ? "connector pausing on request" : "connector resuming on request",
        metadata: ["connector": "\(name)"])
      current.gate.set(paused: pause)
      guard var s = status.status(of: name) else { return nil }
      let (from, to): (ConnectorState, ConnectorState) = pause ? (.running, .paused) : (.paused, .running)
      if s.connector.state == from { s.connector.state = to }
      for i in s.tasks.indices where s.tasks[i].state == from { s.tasks[i].state = to }
      status.set(s)
      return nil
    }
  }

  /// The target state of a known connector.
  public func targetState(of name: String) -> TargetState? {
    guard running[name] != nil || stopped[name] != nil else { return nil }
    return targetStates.state(of: name)
  }

  /// Kafka Connect's `POST /connectors/{c}/restart`. The connector object itself is rebuilt from
  /// its definition (it validates the config again); with `includeTasks`, its tasks — or only the
  /// FAILED ones with `onlyFailed` — restart in place and show RESTARTING until they run.
  /// Returns the indexes of the tasks restarted.
  @discardableResult
  public func restart(_ name: String, includeTasks: Bool, onlyFailed: Bool) throws -> [Int] {
    guard let current = running[name] else {
      if stopped[name] != nil { return [] }
      throw WorkerControlError.unknown(name)
    }
    let s = status.status(of: name)
    let connectorFailed = s?.connector.state == .failed
    if !onlyFailed || connectorFailed {
      do {
        _ = try registry.instantiate(current.definition)
        status.setConnectorTrace(name, nil)
      } catch {
        throw WorkerControlError(.failed, "the connector's config is invalid: \(error)")
      }
    }
    guard includeTasks, let s else { return [] }
    let chosen = s.tasks.filter { !onlyFailed || $0.state == .failed }.map(\.id)
    for index in chosen where index < current.restarts.count {
      status.updateTask(name, index) { $0.state = .restarting }
      current.restarts[index].request()
    }
    return chosen
  }

  /// Kafka Connect's `POST /connectors/{c}/tasks/{t}/restart`: that task stops as at a
  /// graceful stop and starts again.
  public func restartTask(_ name: String, _ index: Int) throws {
    guard let current = running[name] else {
      if stopped[name] != nil {
        throw WorkerControlError(.conflict, "Connector \(name) is stopped; it has no tasks")
      }
      throw WorkerControlError.unknown(name)
    }
    guard current.restarts.indices.contains(index) else {
      throw WorkerControlError(.notFound, "Task \(name)-\(index) not found")
    }
    status.updateTask(name, index) { $0.state = .restarting }
    current.restarts[index].request()
  }

  /// Keeps a valid connector known but without tasks: status STOPPED, as Kafka Connect shows
  /// a stopped connector (no tasks).
  func keepStopped(_ definition: ConnectorDefinition, _ connector: ConfiguredConnector) {
    stopped[definition.name] = Stopped(definition: definition, connector: connector)
    var s = Self.initialStatus(definition, tasks: 0, workerID: workerID)
    s.connector.state = .stopped
    status.set(s)
  }
}
