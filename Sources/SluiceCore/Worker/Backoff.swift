/// Capped exponential backoff with jitter: 100 ms, 200 ms, 400 ms … up to `maximum`.
///
/// A value type: each retry loop owns one, `next()` advances it and `reset()` starts over after
/// a success, so the schedule is testable without sleeping.
public struct Backoff: Sendable {
  public var initial: Duration
  public var maximum: Duration
  public private(set) var attempt = 0

  public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(30)) {
    self.initial = initial
    self.maximum = maximum
  }

  /// The delay before the next attempt (with ±20% jitter), and counts the attempt.
  public mutating func next() -> Duration {
    let exponent = min(attempt, 30)
    attempt += 1
    let base = min(initial * (1 << exponent), maximum)
    return base * Double.random(in: 0.8...1.2)
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
