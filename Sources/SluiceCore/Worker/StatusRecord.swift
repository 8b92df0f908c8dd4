/// A status change as Kafka Connect writes it to its status topic: key
/// `status-connector-<name>` or `status-task-<name>-<id>`, value
/// `{"state","trace","worker_id","generation"}`, or no value (a tombstone) when the connector is
/// gone. Kafka's tools and a second worker read a cluster's status topic in this shape.
public struct StatusRecord: Sendable, Equatable {
  public var key: String
  /// The JSON value; nil for a tombstone.
  public var value: [UInt8]?

  public init(key: String, value: [UInt8]?) {
    self.key = key
    self.value = value
  }

  static func connector(_ name: String, _ summary: ConnectorStatus.Summary) -> StatusRecord {
    StatusRecord(
      key: "status-connector-\(name)",
      value: encode(state: summary.state, trace: summary.trace, workerID: summary.workerID))
  }

  static func task(_ name: String, _ task: TaskStatus) -> StatusRecord {
    StatusRecord(
      key: "status-task-\(name)-\(task.id)",
      value: encode(state: task.state, trace: task.trace, workerID: task.workerID))
  }

  /// The records a change from `old` to `new` makes: one per connector or task whose state or
  /// trace changed (details, which change with every batch, are not status), tombstones for
  /// what is gone.
  static func changes(from old: ConnectorStatus?, to new: ConnectorStatus?) -> [StatusRecord] {
    guard let new else {
      guard let old else { return [] }
      return [StatusRecord(key: "status-connector-\(old.name)", value: nil)]
        + old.tasks.map { StatusRecord(key: "status-task-\(old.name)-\($0.id)", value: nil) }
    }
    var out: [StatusRecord] = []
    if old?.connector.state != new.connector.state || old?.connector.trace != new.connector.trace {
      out.append(connector(new.name, new.connector))
    }
    for task in new.tasks {
      let before = old?.tasks.first { $0.id == task.id }
      if before?.state != task.state || before?.trace != task.trace {
        out.append(self.task(new.name, task))
      }
    }
    for gone in old?.tasks ?? [] where !new.tasks.contains(where: { $0.id == gone.id }) {
      out.append(StatusRecord(key: "status-task-\(new.name)-\(gone.id)", value: nil))
    }
    return out
  }

  /// Members in name order, as Kafka Connect's status records have them.
  private static func encode(state: ConnectorState, trace: String?, workerID: String) -> [UInt8] {
    var out = JSONWriter(capacity: 96 + (trace?.utf8.count ?? 0))
    out.raw("{\"generation\":0,\"state\":")
    out.string(state.rawValue)
    out.raw(",\"trace\":")
    if let trace { out.string(trace) } else { out.null() }
    out.raw(",\"worker_id\":")
    out.string(workerID)
    out.byte("}")
    return out.bytes
  }
}
