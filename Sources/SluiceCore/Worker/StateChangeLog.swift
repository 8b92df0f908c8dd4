import Logging

/// One log line per change of a connector's or a task's state, as ``StatusBoard`` sees it:
/// `connector state changed` / `task state changed` with `connector`, `task`, `from` and `to`
/// (Kafka Connect's state names; `from: none` for a connector or task that is new, `to: none`
/// for a task that is gone, as a stopped connector's are); FAILED at `warning`. The reason of a
/// failure is not repeated: whoever failed the task or connector logged it, with the error, as
/// it happened. A change of trace or details alone is not a change of state and logs nothing.
struct StateChangeLog: Sendable {
  /// One connector's (task nil) or one task's change.
  struct Change: Equatable, Sendable {
    var connector: String
    var task: Int?
    var from: ConnectorState?
    /// Nil for a task that no longer exists.
    var to: ConnectorState?
  }

  let logger: Logger

  /// The changes of state from `old` to `new` (nothing for a removal: the worker says that).
  static func changes(from old: ConnectorStatus?, to new: ConnectorStatus?) -> [Change] {
    guard let new else { return [] }
    var out: [Change] = []
    if old?.connector.state != new.connector.state {
      out.append(
        Change(
          connector: new.name, task: nil, from: old?.connector.state, to: new.connector.state))
    }
    for task in new.tasks {
      let before = old?.tasks.first { $0.id == task.id }?.state
      if before != task.state {
        out.append(
          Change(
            connector: new.name, task: task.id, from: before, to: task.state))
      }
    }
    for gone in old?.tasks ?? [] where !new.tasks.contains(where: { $0.id == gone.id }) {
      out.append(Change(connector: new.name, task: gone.id, from: gone.state, to: nil))
    }
    return out
  }

  func write(_ changes: [Change]) {
    for change in changes {
      var metadata: Logger.Metadata = [
        "connector": "\(change.connector)",
        "from": "\(change.from?.rawValue ?? "none")",
        "to": "\(change.to?.rawValue ?? "none")",
      ]
      if let task = change.task { metadata["task"] = "\(task)" }
      let level: Logger.Level = change.to == .failed ? .warning : .info
      logger.log(
        level: level, change.task == nil ? "connector state changed" : "task state changed",
        metadata: metadata)
    }
  }
}
