import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SluiceAPI
import SluiceCore
import SluiceKafkaBroker
import SluiceLog

#if canImport(Glibc)
  import Glibc
#endif

/// `sluice run`: starts the worker with its embedded log, admin API and connectors, and stops it
/// gracefully on SIGTERM or SIGINT (stop intake, flush, commit, exit 0).
struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Start a worker.",
    discussion: """
      Reads the worker file, validates every connector file in its connectors_dir, opens the \
      embedded log in data_dir (one worker per data dir), serves the admin API and runs the \
      connectors. Connector files added, changed or removed later are applied without a restart.
      """)

  @Option(name: .shortAndLong, help: "The worker config file.")
  var config = "Config/worker.yaml"

  func run() async throws {
    let tuneResidentMemory = ResidentMemory.isOn
    if tuneResidentMemory { ResidentMemory.limitMallocArenas() }
    FatalSignalLog.install()
    let environment = ProcessInfo.processInfo.environment
    let worker: WorkerConfig
    do {
      worker = try WorkerConfig.load(path: config, environment: environment)
    } catch {
      throw Failure("\(error)")
    }
    // After the worker file: it says the format. Nothing logs before (a bad file is one
    // message on standard error, not a log line).
    let logger = Self.makeLogger(format: worker.logFormat)
    // Before any component makes its metric handles: one made earlier would stay a no-op.
    if worker.metrics {
      WorkerMetrics.shared.bootstrap()
    } else {
      WorkerMetrics.shared.switchOff()
    }

    // Validate every connector before anything starts.
    let interpolation = worker.connectorInterpolation(environment: environment)
    let registry = BuiltInConnectors.registry
    var reader = ConnectorFolderReader(
      directory: worker.connectorsDir, interpolation: interpolation, registry: registry)
    let definitions: [ConnectorDefinition]
    var problems: [String]
    switch reader.read() {
    case .unreadable(let error):
      definitions = []
      problems = [error.description]
    case .read(let valid, let errors):
      definitions = valid
      problems = errors.map(\.description)
    }
    for definition in definitions {
      do { _ = try registry.instantiate(definition) } catch { problems.append("\(error)") }
    }
    guard problems.isEmpty else { throw Failure(problems.joined(separator: "\n")) }

    try PortCheck.ensureFree(host: worker.api.host, port: worker.api.port)
    if let kafka = worker.kafka { try PortCheck.ensureFree(host: kafka.host, port: kafka.port) }
    ListenerLimits.current = worker.listeners

    // One clear line, whichever file would have met the problem first.
    do {
      try FileManager.default.createDirectory(
        atPath: worker.dataDir, withIntermediateDirectories: true)
    } catch {
      let posix = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.code
      let reason = posix.map { String(cString: strerror(Int32($0))) } ?? "\(error)"
      throw Failure("cannot write to \(worker.dataDir): \(reason)")
    }
    let offsets: FileOffsetStore
    do {
      offsets = try FileOffsetStore(directory: worker.dataDir + "/offsets")
    } catch {
      throw Failure("cannot use data_dir \(worker.dataDir): \(error)")
    }
    // On the embedded store sources keep their positions and sinks their group offsets in
    // `offsets`; on Kafka sources write transactionally to the offsets topic and sinks are the
    // cluster's consumer groups.
    let opened: StoreFactory.OpenedStore
    do {
      // On Kafka, the store and its client log as `sluice.kafka.store` (/admin/loggers).
      var storeLogger = logger
      if case .kafka = worker.store { storeLogger = Logger(label: "sluice.kafka.store") }
      opened = try await StoreFactory.open(worker, offsets: offsets, logger: storeLogger)
    } catch {
      throw Failure("\(error)")
    }
    let store = opened.store
    let status = StatusBoard(
      onChange: opened.publishStatus,
      topics: ActiveTopics(path: worker.dataDir + "/connector-topics.json"), logger: logger)
    let stateGauges = ConnectorStateGauges.watch(status)
    defer { stateGauges.cancel() }
    let workerID = "\(worker.workerID):\(worker.api.port)"
    let targetStates: TargetStateFile
    do {
      targetStates = try TargetStateFile(path: worker.dataDir + "/connector-states.json")
    } catch {
      throw Failure("cannot use data_dir \(worker.dataDir): \(error)")
    }
    let runtime = Worker(
      store: store, offsets: offsets, registry: registry, status: status, workerID: workerID,
      removalGrace: worker.connectorRemovalGrace,
      taskStopGrace: worker.taskShutdownGracefulTimeout,
      targetStates: targetStates, logger: logger)
    let folder = ConnectorFolder(
      directory: worker.connectorsDir, worker: runtime, interpolation: interpolation,
      logger: logger)
    var groups: GroupCoordinator?
    if worker.kafka != nil, opened.embedded != nil {
      do {
        groups = try GroupCoordinator(directory: worker.dataDir + "/kafka-groups")
      } catch {
        throw Failure("cannot use data_dir \(worker.dataDir): \(error)")
      }
    }
    var admin = AdminAPI(
      store: store, status: status, workerID: workerID, groups: groups, connectors: folder)
    admin.auth = worker.api.auth
    // The dashboard's charts: the worker's own metrics, sampled in memory.
    let history = MetricsHistory(
      interval: worker.dashboard.sampleInterval,
      families: DashboardMetrics.families,
      exposition: { WorkerMetrics.shared.exposition() })
    admin.history = history
    let api: any Service
    do {
      api = try admin.application(
        host: worker.api.host, port: worker.api.port, limits: worker.listeners,
        tls: worker.api.tls, logger: Logger(label: "sluice.api"))
    } catch {
      throw Failure("\(worker.file): \(error)")
    }
    let watcher = ConnectorDirectoryWatcher(folder: folder)

    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
      .init(service: api), .init(service: history),
    ]
    if let kafka = worker.kafka, let groups, let embedded = opened.embedded {
      let broker: KafkaBroker
      do {
        broker = try KafkaBroker(
          store: embedded, config: kafka, groups: groups,
          transactionsDirectory: worker.dataDir + "/kafka-transactions",
          logger: Logger(label: "sluice.kafka.listener"))
      } catch {
        throw Failure("cannot use data_dir \(worker.dataDir): \(error)")
      }
      let listener: KafkaListener
      do {
        listener = try KafkaListener(
          broker: broker, config: kafka, limits: worker.listeners,
          logger: Logger(label: "sluice.kafka.listener"))
      } catch {
        throw Failure("\(worker.file): \(error)")
      }
      services.append(.init(service: listener))
    }
    services += [.init(service: runtime), .init(service: watcher)]
    logger.info(
      "sluice worker starting",
      metadata: [
        "data_dir": "\(worker.dataDir)", "connectors_dir": "\(worker.connectorsDir)",
        "api": "\(worker.api.scheme)://\(worker.api.host):\(worker.api.port)",
        "api_auth": "\(worker.api.auth.map { "\($0)" } ?? "none")",
        "store": "\(worker.store.kind)",
      ])
    // Services stop in reverse order: the watcher (no more changes), then the connectors
    // (finish batch, commit), then the Kafka listener, then the dashboard's sampler, then the
    // API.
    let group = ServiceGroup(
      configuration: .init(
        services: services,
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    // Once the connectors and the API are up, the code only start-up ran can go; later, code
    // that ran once (a config reload, an API call) goes too, a minute at a time.
    let trim = Task {
      guard tuneResidentMemory else { return }
      try await Task.sleep(for: .seconds(2))
      while !Task.isCancelled {
        ResidentMemory.releaseCodePages()
        try await Task.sleep(for: .seconds(60))
      }
    }
    defer { trim.cancel() }
    do {
      try await group.run()
    } catch {
      await opened.close()
      throw error
    }
    await opened.close()
    logger.info("sluice worker stopped")
  }

  /// The process's logging: standard error in `format` (text, or one JSON object per line),
  /// levels from ``LogLevels/shared`` (the root's from `SLUICE_LOG_LEVEL`, default INFO;
  /// changed at run time through `/admin/loggers`), and no URL password in any line.
  static func makeLogger(format: LogFormat) -> Logger {
    if let text = ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"],
      let level = LogLevel(name: text)
    {
      LogLevels.shared.setInitialRoot(level)
    }
    LoggingSystem.bootstrap { label in
      // The level is LeveledLogHandler's to decide; the writer writes what reaches it.
      let writer: any LogHandler
      switch format {
      case .text:
        var stream = StreamLogHandler.standardError(label: label)
        stream.logLevel = .trace
        writer = stream
      case .json:
        var json = JSONLogHandler(label: label)
        json.logLevel = .trace
        writer = json
      }
      // Connector errors quote their URLs; no log line shows a URL's password.
      return LeveledLogHandler(label: label, wrapping: MaskingLogHandler(wrapping: writer))
    }
    return Logger(label: "sluice")
  }
}

/// A failure to report on stderr as one clear message, with exit status 1.
struct Failure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
