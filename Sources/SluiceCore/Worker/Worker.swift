import Logging

/// The runtime: starts, restarts and stops connectors and their tasks as their definitions come
/// and go, and owns the store, the offsets and the status board they share (DESIGN.md §3).
///
/// It knows no connector by name and no store by layout; the executable hands it a
/// ``ConnectorRegistry`` and a ``TopicStore``.
public actor Worker {
  public nonisolated let store: any TopicStore
  public nonisolated let offsets: any OffsetStore
  public nonisolated let registry: ConnectorRegistry
  public nonisolated let status: StatusBoard
  public nonisolated let workerID: String
  private let logger: Logger

  private struct Running {
    var definition: ConnectorDefinition
    var connector: ConfiguredConnector
    var tasks: [Task<Void, Never>]
  }

  private var running: [String: Running] = [:]
  /// Connectors whose latest file is invalid, by connector name, shown as FAILED.
  private var invalid: Set<String> = []

  public init(
    store: any TopicStore, offsets: any OffsetStore, registry: ConnectorRegistry,
    status: StatusBoard = StatusBoard(),
    workerID: String, logger: Logger
  ) {
    self.store = store
    self.offsets = offsets
    self.registry = registry
    self.status = status
    self.workerID = workerID
    self.logger = logger
  }

  /// Makes the running connectors match `definitions`: starts new ones, restarts changed ones,
  /// stops removed ones. A file that has become invalid (`errors`) leaves its running connector
  /// as it was and shows the error in its status.
  public func apply(_ definitions: [ConnectorDefinition], errors: [ConfigError]) async {
    let erroredFiles = Set(errors.map(\.file))
    let wanted = Dictionary(
      definitions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    for (name, current) in running
    where wanted[name] == nil && !erroredFiles.contains(current.definition.file) {
      logger.info("connector removed", metadata: ["connector": "\(name)"])
      await stop(name)
      switch current.connector {
      case .source(let c): await c.removed()
      case .sink(let c): await c.removed()
      }
      status.remove(name)
    }

    for error in errors {
      let affected = running.values.first { $0.definition.file == error.file }
      if let affected {
        logger.error(
          "connector file is invalid; keeping the running version", metadata: ["error": "\(error)"])
        status.setConnectorTrace(affected.definition.name, "config not applied: \(error)")
      } else {
        let name = ConnectorStatus.placeholderName(forFile: error.file)
        invalid.insert(name)
        status.set(
          ConnectorStatus.invalid(
            name: name, file: error.file, error: "\(error)", workerID: workerID))
      }
    }
    for name in invalid
    where !errors.contains(where: { ConnectorStatus.placeholderName(forFile: $0.file) == name }) {
      invalid.remove(name)
      if running[name] == nil { status.remove(name) }
    }

    for definition in definitions.sorted(by: { $0.name < $1.name }) {
      if let current = running[definition.name],
        current.definition.fingerprint == definition.fingerprint
      {
        continue
      }
      let connector: ConfiguredConnector
      do {
        connector = try registry.instantiate(definition)
      } catch {
        if running[definition.name] != nil {
          logger.error(
            "connector config is invalid; keeping the running version",
            metadata: ["error": "\(error)"])
          status.setConnectorTrace(definition.name, "config not applied: \(error)")
        } else {
          logger.error("connector config is invalid", metadata: ["error": "\(error)"])
          status.set(
            ConnectorStatus.invalid(
              name: definition.name, file: definition.file, error: "\(error)", workerID: workerID))
        }
        continue
      }
      if running[definition.name] != nil {
        logger.info("connector changed; restarting", metadata: ["connector": "\(definition.name)"])
        await stop(definition.name)
      } else {
        logger.info("connector starting", metadata: ["connector": "\(definition.name)"])
      }
      start(definition, connector)
    }
  }

  private func start(_ definition: ConnectorDefinition, _ connector: ConfiguredConnector) {
    let name = definition.name
    var log = logger
    log[metadataKey: "connector"] = "\(name)"
    let taskCount = definition.tasks
    let (kind, type): (String, String) =
      switch definition.role {
      case .source(let t): ("source", t)
      case .sink(let t): ("sink", t)
      }
    status.set(
      ConnectorStatus(
        name: name, connector: .init(state: .running, workerID: workerID, trace: nil),
        tasks: (0..<taskCount).map { TaskStatus(id: $0, state: .unassigned, workerID: workerID) },
        type: kind, connectorType: type, configFile: definition.file))

    var tasks: [Task<Void, Never>] = []
    for index in 0..<taskCount {
      switch connector {
      case .source(let source):
        let runner = SourceTaskRunner(
          connector: source, name: name, index: index, count: taskCount, store: store,
          offsets: offsets,
          status: status, logger: log)
        tasks.append(Task { await runner.run() })
      case .sink(let sink):
        let runner = SinkTaskRunner(
          connector: sink, name: name, index: index, count: taskCount, topics: definition.topics,
          policy: definition.sinkErrorPolicy, store: store, offsets: offsets, status: status,
          logger: log)
        tasks.append(Task { await runner.run() })
      }
    }
    running[name] = Running(definition: definition, connector: connector, tasks: tasks)
  }

  /// Stops one connector: cancels its tasks and waits for them to commit and return.
  private func stop(_ name: String, timeout: Duration = .seconds(10)) async {
    guard let current = running.removeValue(forKey: name) else { return }
    await Self.cancelAndWait(current.tasks, timeout: timeout)
  }

  /// Graceful shutdown: stop taking input, let every task finish its batch and commit.
  public func stopAll(timeout: Duration = .seconds(5)) async {
    let tasks = running.values.flatMap(\.tasks)
    let names = Array(running.keys)
    running.removeAll()
    await Self.cancelAndWait(tasks, timeout: timeout)
    for name in names {
      if var s = status.status(of: name) {
        s.connector.state = .stopped
        for i in s.tasks.indices { s.tasks[i].state = .stopped }
        status.set(s)
      }
    }
  }

  private static func cancelAndWait(_ tasks: [Task<Void, Never>], timeout: Duration) async {
    for task in tasks { task.cancel() }
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        for task in tasks { await task.value }
      }
      group.addTask { try? await Task.sleep(for: timeout) }
      await group.next()
      group.cancelAll()
    }
  }

  public var runningConnectors: [String] { running.keys.sorted() }
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
  /// The name shown for a file that could not be read far enough to know its connector's name.
  static func placeholderName(forFile file: String) -> String {
    let base = file.split(separator: "/").last.map(String.init) ?? file
    return base.split(separator: ".").first.map(String.init) ?? base
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
