import Foundation
import Logging
import ServiceLifecycle

/// Keeps the worker in step with `connectors_dir`: a file added, changed or removed while the
/// worker runs starts, restarts or stops its connector, without a restart of the worker.
///
/// It looks at the folder once a second instead of using inotify, so edits through editors that
/// replace files, bind mounts and network file systems all work; a file is parsed again only
/// when its size, modification time or inode changed (``ConnectorFolderReader``). A folder that
/// cannot be listed changes nothing: it is logged once and shown in status until it reads again.
public struct ConnectorDirectoryWatcher: Service {
  public let directory: String
  public let worker: Worker
  public let interval: Duration
  private let interpolation: Interpolation
  private let logger: Logger

  public init(
    directory: String, worker: Worker,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    interval: Duration = .seconds(1), logger: Logger
  ) {
    self.init(
      directory: directory, worker: worker,
      interpolation: Interpolation(environment: environment, secretsDirectories: [directory]),
      interval: interval, logger: logger)
  }

  public init(
    directory: String, worker: Worker, interpolation: Interpolation,
    interval: Duration = .seconds(1), logger: Logger
  ) {
    self.directory = directory
    self.worker = worker
    self.interpolation = interpolation
    self.interval = interval
    self.logger = logger
  }

  /// Applies the folder now, then on every change until graceful shutdown. Stopping the
  /// connectors is the worker's own part of the shutdown (``Worker/run()``), which comes after
  /// this service has returned, so no change is applied while they stop.
  public func run() async throws {
    let first = ConnectorFolderReader(directory: directory, interpolation: interpolation)
    try? await cancelWhenGracefulShutdown {
      var reader = first
      var seen = await reload(&reader, previous: nil)
      while !Task.isCancelled {
        try await Task.sleep(for: interval)
        seen = await reload(&reader, previous: seen)
      }
    }
  }

  /// What the folder looked like at the last reload: file → fingerprint, plus the errors.
  enum Snapshot: Equatable {
    case unreadable(String)
    case read(fingerprints: [String: String], errors: [String])
  }

  private func reload(_ reader: inout ConnectorFolderReader, previous: Snapshot?) async
    -> Snapshot
  {
    switch reader.read(owners: await worker.nameOwners) {
    case .unreadable(let error):
      let snapshot = Snapshot.unreadable(error.description)
      if snapshot != previous {
        logger.error(
          "cannot list connectors_dir; every connector keeps running as it is",
          metadata: ["error": "\(error)"])
        await worker.setFolderProblem(error, folder: directory)
      }
      // Known only as "unreadable": the next successful read is applied in full.
      return snapshot
    case .read(let definitions, let errors):
      if case .unreadable = previous {
        logger.info("connectors_dir can be read again")
        await worker.setFolderProblem(nil, folder: directory)
      }
      let snapshot = Snapshot.read(
        fingerprints: Dictionary(
          definitions.map { ($0.file, $0.fingerprint) }, uniquingKeysWith: { a, _ in a }),
        errors: errors.map(\.description))
      if snapshot != previous {
        var known: [String] = []
        if case .read(_, let old) = previous { known = old }
        for error in errors where !known.contains(error.description) {
          logger.error("\(error)")
        }
        await worker.apply(definitions, errors: errors)
      }
      return snapshot
    }
  }
}
