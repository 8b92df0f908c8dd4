/// Capped exponential backoff with jitter: `initial`, twice that, four times … up to `maximum`,
/// each delay scaled by a random factor of the ``Jitter`` strategy.
///
/// The one backoff of Sluice: the worker's task restarts and reconnects, the connectors'
/// reconnects and the HTTP sink's retries all take their delays from it. A value type: each
/// retry loop owns one, `next()` advances it and `reset()` starts over after a success, so the
/// schedule is testable without sleeping; a caller that counts attempts itself asks
/// ``delay(beforeRetry:)``.
public struct Backoff: Sendable {
  /// How a delay is spread so that clients failing together do not retry together: the delay
  /// is multiplied by a factor drawn uniformly from `factors`.
  public struct Jitter: Sendable, Equatable {
    public var factors: ClosedRange<Double>

    public init(factors: ClosedRange<Double>) { self.factors = factors }

    /// ±20% around the delay (0.8 to 1.2 times it): the runtime's restarts and reconnects.
    public static let twentyPercent = Jitter(factors: 0.8...1.2)
    /// Half to all of the delay, never more: the HTTP sink's retries, which promise the
    /// receiver no wait longer than `max_backoff_ms`.
    public static let upToFull = Jitter(factors: 0.5...1.0)
  }

  public var initial: Duration
  public var maximum: Duration
  public var jitter: Jitter
  public private(set) var attempt = 0

  public init(
    initial: Duration = .milliseconds(100), maximum: Duration = .seconds(30),
    jitter: Jitter = .twentyPercent
  ) {
    self.initial = initial
    self.maximum = maximum
    self.jitter = jitter
  }

  /// The delay before the next attempt, and counts the attempt.
  public mutating func next() -> Duration {
    defer { attempt += 1 }
    return delay(beforeRetry: attempt)
  }

  /// The delay before retry number `retry` (0 for the first retry), without counting it:
  /// `initial · 2^retry`, capped at `maximum`, times the jitter.
  public func delay(beforeRetry retry: Int) -> Duration {
    let exponent = min(max(retry, 0), 30)
    let base = min(initial * (1 << exponent), maximum)
    return base * Double.random(in: jitter.factors)
  }

  public mutating func reset() { attempt = 0 }

  /// The delay before restarting something that failed after running for `ranFor`: a run of
  /// at least `healthy` counts as a success, so a task that failed once an hour restarts
  /// quickly instead of after the cap it reached long ago.
  public mutating func next(afterRunning ranFor: Duration, healthy: Duration = .seconds(60))
    -> Duration
  {
    if ranFor >= healthy { reset() }
    return next()
  }
}
