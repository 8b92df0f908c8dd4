import ServiceLifecycle

/// The worker as one service of the executable's `ServiceGroup` (STYLE.md §2), which shuts its
/// services down in reverse order: the folder watcher first (no more changes are applied), then
/// the worker (every connector stops), then the admin API.
extension Worker: Service {
  /// Runs until the group shuts down. Graceful shutdown (SIGTERM, SIGINT) stops every
  /// connector as a changed file does (``ConnectorRun``): intake stops, each task finishes its
  /// batch and commits, and one still running after ``taskStopGrace`` is cancelled.
  /// Cancellation cancels the tasks at once and returns without waiting for them.
  public func run() async throws {
    do {
      try await gracefulShutdown()
    } catch {
      await stopAll(timeout: .zero)
      return
    }
    logger.info("stopping connectors")
    await stopAll()
  }
}
