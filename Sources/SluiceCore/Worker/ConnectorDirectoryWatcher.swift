import Foundation
import Logging
import ServiceLifecycle

/// Keeps the worker in step with `connectors_dir`: a file added, changed or removed while the
/// worker runs starts, restarts or stops its connector, without a restart of the worker.
///
/// It re-reads the folder once a second (the files are few and small) instead of using inotify,
/// so edits through editors that replace files, bind mounts and network file systems all work.
public struct ConnectorDirectoryWatcher: Service {
  public let directory: String
  public let worker: Worker
  public let interval: Duration
  private let environment: [String: String]
  private let logger: Logger

  public init(
    directory: String, worker: Worker,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    interval: Duration = .seconds(1), logger: Logger
  ) {
    self.directory = directory
    self.worker = worker
    self.environment = environment
    self.interval = interval
    self.logger = logger
  }

  /// Applies the folder now, then on every change until graceful shutdown; then stops every
  /// connector so each task finishes its batch and commits before the process exits.
  public func run() async throws {
    let first = await reload(previous: nil)
    try? await cancelWhenGracefulShutdown {
      var seen = first
      while !Task.isCancelled {
        try await Task.sleep(for: interval)
        seen = await reload(previous: seen)
      }
    }
    logger.info("stopping connectors")
    await worker.stopAll()
  }

  /// What the folder looked like at the last reload: file → fingerprint, plus the errors.
  struct Snapshot: Equatable {
    var fingerprints: [String: String]
    var errors: [String]
  }

  private func reload(previous: Snapshot?) async -> Snapshot {
    let loaded = ConnectorDirectory.load(directory: directory, environment: environment)
    let snapshot = Snapshot(
      fingerprints: Dictionary(
        loaded.definitions.map { ($0.file, $0.fingerprint) }, uniquingKeysWith: { a, _ in a }),
      errors: loaded.errors.map(\.description))
    if snapshot != previous {
      for error in loaded.errors where !(previous?.errors.contains(error.description) ?? false) {
        logger.error("\(error)")
      }
      await worker.apply(loaded.definitions, errors: loaded.errors)
    }
    return snapshot
  }
}
