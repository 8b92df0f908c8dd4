/// A problem a running task reports without failing, for an operator to act on before it
/// becomes an outage (a replication slot holding back more WAL than its threshold). Status
/// shows it under the task's `warnings`, and `GET /health` reports DEGRADED while any task has
/// one. Set with ``SourceTaskContext/setWarning(_:_:)``; a task clears its own.
public struct TaskWarning: Sendable, Codable, Equatable {
  /// How urgent it is. Neither stops the task: stopping is FAILED, reported by throwing.
  public enum Severity: String, Sendable, Codable {
    /// Needs a look: `/health` says DEGRADED and still answers 200.
    case warning = "WARNING"
    /// Needs action now: `/health` answers 503, as for a failed connector.
    case critical = "CRITICAL"
  }

  /// What the warning is about, one warning per source and task (`replication_slot`).
  public var source: String
  public var severity: Severity
  /// What is wrong, the figures, and what to do.
  public var message: String

  public init(source: String, severity: Severity, message: String) {
    self.source = source
    self.severity = severity
    self.message = message
  }
}
