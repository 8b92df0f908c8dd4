import Synchronization

/// Lets each kind of warning through at most once per interval and counts the rest, so that a
/// bad feed, a flood of refused connections or clients retrying against a full disk cannot fill
/// the log with one line per event.
public final class WarningRateLimiter: Sendable {
  /// The interval in the unit of `nowMs`, the wall clock of ``currentTimeMillis()``.
  private let intervalMs: Int64
  private let state = Mutex<[String: (lastMs: Int64, suppressed: Int)]>([:])

  public init(interval: Duration = .seconds(60)) { self.intervalMs = interval.inMilliseconds }

  /// Nil when a warning of `kind` was let through less than the interval ago (it is counted);
  /// else the number of warnings of that kind suppressed since the last one let through.
  public func allow(_ kind: String, nowMs: Int64 = currentTimeMillis()) -> Int? {
    state.withLock { kinds in
      // A clock that went back lets the warning through rather than silencing it until it
      // catches up.
      if let seen = kinds[kind], (0..<intervalMs).contains(nowMs.saturatingMinus(seen.lastMs)) {
        kinds[kind]?.suppressed += 1
        return nil
      }
      // Kinds are few (a fixed word per call site); forget them all rather than grow.
      if kinds.count >= 1000 { kinds.removeAll() }
      let suppressed = kinds[kind]?.suppressed ?? 0
      kinds[kind] = (nowMs, 0)
      return suppressed
    }
  }

  /// `line`, with how many like it were suppressed before it, when it may be logged now.
  public func line(_ kind: String, _ line: String, nowMs: Int64 = currentTimeMillis()) -> String? {
    guard let suppressed = allow(kind, nowMs: nowMs) else { return nil }
    return suppressed == 0 ? line : "\(line) (and \(suppressed) more like it since the last one)"
  }
}
