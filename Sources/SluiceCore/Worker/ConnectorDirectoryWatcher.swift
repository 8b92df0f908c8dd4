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
  public let folder: ConnectorFolder
  public let interval: Duration

  public init(folder: ConnectorFolder, interval: Duration = .seconds(1)) {
    self.folder = folder
    self.interval = interval
  }

  /// Applies the folder now, then on every change until graceful shutdown. Stopping the
  /// connectors is the worker's own part of the shutdown (``Worker/run()``), which comes after
  /// this service has returned, so no change is applied while they stop.
  public func run() async throws {
    try? await cancelWhenGracefulShutdown {
      await folder.reload()
      while !Task.isCancelled {
        try await Task.sleep(for: interval)
        await folder.reload()
      }
    }
  }
}
