import SluiceCore

/// The MQTT connection as a state machine (STYLE.md §1): the network loop reports what happened
/// and gets back what to do — how long to wait before the next attempt, and a line to log only
/// when the state or its reason changed, so a broker that stays down is logged once, not once
/// per attempt (DESIGN.md §6).
struct MQTTSession {
  enum State: Equatable {
    /// No connection yet.
    case idle
    /// TCP (and TLS) open, CONNECT sent, waiting for CONNACK.
    case connecting
    case connected(sessionPresent: Bool)
    /// Waiting to retry after a failure.
    case disconnected(reason: String)
  }

  /// What the loop does next.
  struct Step: Equatable {
    /// A line for the log, present only on a change.
    var log: String?
    /// When to try connecting again (nil: go on).
    var retryAfter: Duration?
  }

  private(set) var state: State = .idle
  private var backoff: Backoff
  private var lastLogged: String?

  init(initialBackoff: Duration, maximumBackoff: Duration) {
    backoff = Backoff(initial: initialBackoff, maximum: maximumBackoff)
  }

  var isConnected: Bool {
    if case .connected = state { return true }
    return false
  }

  /// The socket is open and CONNECT is on its way.
  mutating func socketOpened() -> Step {
    state = .connecting
    return Step()
  }

  /// The broker accepted CONNECT.
  mutating func accepted(sessionPresent: Bool) -> Step {
    state = .connected(sessionPresent: sessionPresent)
    backoff.reset()
    let line =
      sessionPresent
      ? "connected to the MQTT broker; session resumed"
      : "connected to the MQTT broker; new session"
    return Step(log: changed(line))
  }

  /// Opening the connection failed, the broker refused it, or an open one was lost.
  mutating func failed(_ reason: String) -> Step {
    state = .disconnected(reason: reason)
    return Step(
      log: changed("MQTT broker unavailable: \(reason); retrying with backoff"),
      retryAfter: backoff.next())
  }

  /// The line, unless it is the one logged last.
  private mutating func changed(_ line: String) -> String? {
    guard line != lastLogged else { return nil }
    lastLogged = line
    return line
  }
}
