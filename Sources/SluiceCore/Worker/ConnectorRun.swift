import Logging
import ServiceLifecycle
import Synchronization

/// One incarnation of a connector: its tasks as the services of a `ServiceGroup` of their own
/// (STYLE.md §2), so that it stops gracefully on its own — a changed or removed file — as well as
/// with the worker.
///
/// Stopping is graceful first: every task hears `gracefulShutdown`, stops taking input, finishes
/// the batch in hand, commits and returns. A task still running after `gracePeriod` is cancelled
/// (the group escalates), which abandons the batch in hand; what was not committed is delivered
/// again by the next incarnation, as after a crash.
final class ConnectorRun: Sendable {
  private let group: ServiceGroup
  private let stopRequested = Atomic<Bool>(false)

  init(tasks: [@Sendable () async -> Void], gracePeriod: Duration, logger: Logger) {
    // A task that returns (a finished source) or fails for good leaves its siblings running.
    let services = tasks.enumerated().map { index, body in
      ServiceGroupConfiguration.ServiceConfiguration(
        service: TaskService(body: body), successTerminationBehavior: .ignore,
        failureTerminationBehavior: .ignore, serviceName: "task \(index)")
    }
    var configuration = ServiceGroupConfiguration(services: services, logger: logger)
    configuration.maximumGracefulShutdownDuration = gracePeriod
    group = ServiceGroup(configuration: configuration)
  }

  /// Runs the tasks until they have all returned; returns at once if stopped before it began.
  func run() async {
    if stopRequested.load(ordering: .acquiring) { return }
    try? await group.run()
  }

  /// Whether ``stop()`` was called.
  var isStopped: Bool { stopRequested.load(ordering: .acquiring) }

  /// Asks every task to stop gracefully; does not wait (the ``run()`` caller does).
  func stop() async {
    stopRequested.store(true, ordering: .releasing)
    await group.triggerGracefulShutdown()
  }
}

/// One connector task as a service: the runner loops (restarting the task when it fails) until
/// graceful shutdown or cancellation, so it never throws.
private struct TaskService: Service {
  let body: @Sendable () async -> Void

  func run() async throws { await body() }
}

extension Task where Success == Never, Failure == Never {
  /// Whether the current connector task should stop: its connector is stopping gracefully, or it
  /// was cancelled. Loops of the runtime check this where they would take more input.
  static var isStopping: Bool { isCancelled || isShuttingDownGracefully }

  /// Sleeps for `duration`, or less when the task is stopping (gracefully or not).
  static func sleepUnlessStopping(for duration: Duration) async {
    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
  }
}
