import ServiceLifecycle

/// The worker as one service of the executable's `ServiceGroup` (STYLE.md §2), which shuts its
/// services down in reverse order: the folder watcher first (no more changes are applied), then
/// the worker (every connector stops), then the admin API.
extension Worker: Service {
  /// Runs until the group shuts down. Graceful shutdown (SIGTERM, SIGINT) stops intake and lets
  /// every task finish its batch, flush and commit before returning; cancellation cancels the
  /// tasks and returns without waiting for them.
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
