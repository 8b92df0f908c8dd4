import CoreMetrics

/// `sluice_connector_state{connector,state}` and `sluice_task_state{connector,task,state}`: 1
/// for the Kafka Connect state a connector or task is in, 0 for every other state, read from the
/// ``StatusBoard`` at each scrape — so an alert can say `sluice_task_state{state="FAILED"} == 1`,
/// and a removed connector's series go with it.
public final class ConnectorStateGauges: Sendable {
  private let connectors: ScrapedGauges
  private let tasks: ScrapedGauges

  public init(factory: any MetricsFactory = MetricsSystem.factory) {
    connectors = ScrapedGauges(
      "sluice_connector_state", labels: ["connector", "state"], factory: factory)
    tasks = ScrapedGauges(
      "sluice_task_state", labels: ["connector", "task", "state"], factory: factory)
  }

  /// Sets every series from what `board` shows now.
  public func update(from board: StatusBoard) {
    var connectorValues: [[String]: Double] = [:]
    var taskValues: [[String]: Double] = [:]
    for status in board.all() {
      for state in ConnectorState.allCases {
        connectorValues[[status.name, state.rawValue]] = status.connector.state == state ? 1 : 0
        for task in status.tasks {
          taskValues[[status.name, String(task.id), state.rawValue]] = task.state == state ? 1 : 0
        }
      }
    }
    connectors.update(connectorValues)
    tasks.update(taskValues)
  }

  /// Reads `board` before every scrape of `metrics` until the returned hook is cancelled.
  public static func watch(_ board: StatusBoard, in metrics: WorkerMetrics = .shared) -> ScrapeHook
  {
    let gauges = ConnectorStateGauges()
    return metrics.onScrape { gauges.update(from: board) }
  }
}
