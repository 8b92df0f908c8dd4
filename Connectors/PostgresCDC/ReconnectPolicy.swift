import SluiceCore

/// What the CDC task does when streaming stops with an error: retry it here with the task
/// RUNNING, or fail the task so the worker restarts it (STYLE.md §1: the decision is a value,
/// ``CDCSourceTask`` only sleeps, logs and throws as told).
///
/// Blips (a restarted server, a terminated walsender) are retried with capped backoff while
/// they last less than ``reconnectWindow``; a first connection that fails, or an outage that
/// lasts, fails the task, which shows FAILED in status and /health and is restarted by the
/// worker with its own backoff. A slot still held by a killed predecessor's walsender
/// (SQLSTATE 55006) lets go within moments, so that is waited for up to ``slotBusyWindow``.
struct ReconnectPolicy {
  /// How a stop is classified by the task.
  enum Failure {
    /// The runtime could not make records or their position durable: a task error, not a
    /// connection blip (the slot replays from its confirmed LSN, which never passed it).
    case send
    /// A setup the user must fix, or a snapshot that failed (it resumes from what its records
    /// made durable when the worker restarts the task).
    case setupOrSnapshot
    /// The connection or the server failed; `slotBusy` when the slot is held by another
    /// walsender.
    case connection(slotBusy: Bool)
  }

  /// What to do about a failure.
  enum Decision: Equatable {
    /// Fail the task.
    case fail
    /// Reconnect after `delay`; `warn` the first time of an outage (later ones are quiet).
    case retry(after: Duration, warn: Bool)
  }

  /// How long a task that has streamed retries a lost connection itself before it fails.
  static let reconnectWindow: Duration = .seconds(15)
  /// How long a starting task waits for a slot still held by a walsender of a killed worker.
  static let slotBusyWindow: Duration = .seconds(60)

  private var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(30))
  private var hasStreamed = false
  private var outageStart: ContinuousClock.Instant?
  /// Whether an outage is going on (its first retry was logged as a warning).
  private(set) var isFailing = false

  /// Streaming is going again: the next outage starts from the first delay. Returns whether
  /// an outage just ended (to log that replication resumed).
  mutating func streamed() -> Bool {
    defer {
      isFailing = false
      backoff.reset()
      hasStreamed = true
      outageStart = nil
    }
    return isFailing
  }

  /// The decision for a failure at `now`.
  mutating func decide(_ failure: Failure, at now: ContinuousClock.Instant) -> Decision {
    guard case .connection(let slotBusy) = failure else { return .fail }
    let down = now - (outageStart ?? now)
    outageStart = outageStart ?? now
    guard (hasStreamed && down < Self.reconnectWindow) || (slotBusy && down < Self.slotBusyWindow)
    else { return .fail }
    defer { isFailing = true }
    return .retry(after: backoff.next(), warn: !isFailing)
  }
}
