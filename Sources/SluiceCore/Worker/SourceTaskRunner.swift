import Logging
import ServiceLifecycle

/// Runs one source task for as long as its connector is configured: starts it, marks it FAILED
/// with the reason when it throws, and restarts it with capped exponential backoff.
///
/// A graceful stop (``ConnectorRun``) cancels the connector's `run`, which stops taking input
/// and returns after its last send; the runner then waits for the committed positions to be
/// written before it returns. Cancelling the runner itself abandons that wait.
struct SourceTaskRunner: Sendable {
  let connector: any SourceConnector
  let name: String
  let index: Int
  let count: Int
  let store: any TopicStore
  let offsets: any OffsetStore
  let status: StatusBoard
  let logger: Logger
  let gate: PauseGate
  let restart: TaskRestartSignal
  /// Applied to every record between the source and the store.
  var transforms = TransformChain()
  /// Where records a transform fails on go (`errors.tolerance: all`).
  var errors = SinkErrorPolicy()

  func run() async {
    var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(60))
    let metrics = TaskMetrics(kind: .source, connector: name, task: index)
    while !Task.isStopping {
      let started = ContinuousClock.now
      var writer: SourceWriter?
      do {
        let session = try await store.makeSourceSession(
          connector: name, task: index, offsets: offsets)
        let context = SourceWriter(
          connector: name, taskIndex: index, store: store, session: session, status: status,
          logger: logger, committedPosition: try await session.committedPosition(), gate: gate,
          transforms: transforms, errors: errors, metrics: metrics)
        writer = context
        let task = try connector.makeTask(index: index, count: count, context: context)
        status.updateTask(name, index) { [gate] in
          $0.state = gate.isPaused ? .paused : .running
          $0.trace = nil
        }
        let restarted = try await restart.run {
          try await cancelWhenGracefulShutdown { try await task.run() }
        }
        // The last positions the task committed are on disk before the worker moves on.
        try await context.flushCommits()
        if Task.isStopping { return }
        if restarted {
          logger.info("source task restarting on request", metadata: ["task": "\(index)"])
          backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(60))
          continue
        }
        status.updateTask(name, index) { $0.state = .stopped }
        logger.info("source task finished", metadata: ["task": "\(index)"])
        return
      } catch {
        // The next task reads the committed position: let the last one reach the file.
        try? await writer?.flushCommits()
        if Task.isStopping { return }
        let delay = backoff.next(afterRunning: ContinuousClock.now - started)
        metrics.errors.increment()
        metrics.retries.increment()
        logger.error(
          "source task failed; restarting",
          metadata: ["task": "\(index)", "error": "\(error)", "in": "\(delay)"])
        status.updateTask(name, index) {
          $0.state = .failed
          $0.trace = "\(error)"
          $0.restarts += 1
        }
        await Task.sleepUnlessStopping(for: delay)
      }
    }
  }
}
