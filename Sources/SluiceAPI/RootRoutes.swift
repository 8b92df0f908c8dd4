import Hummingbird
import SluiceCore

extension AdminAPI {
  /// `GET /` (Kafka Connect's root resource, or the dashboard for a browser) and `GET /health`.
  func addRootRoutes(to router: Router<BasicRequestContext>) {
    // `version` parses as major.minor like Kafka Connect's, since kcctl and UIs gate features
    // on it; Sluice's own version follows after `-sluice-`. A request that prefers HTML (a
    // browser) gets the dashboard instead; every other one gets this JSON, as before.
    router.get("/") { request, _ -> Response in
      // Both answers say they vary with Accept, so no cache hands one to the other's client.
      if ContentNegotiation.prefersHTML(request.headers[values: .accept]) {
        var page = await dashboardPage()
        page.headers[.vary] = "Accept"
        return page
      }
      let store = await store.describeStore()
      var response = try jsonResponse(
        encoding: WorkerInfo(
          version: SluiceVersion.kafkaConnect, commit: SluiceVersion.commit,
          kafkaClusterID: store.clusterID, sluiceVersion: SluiceVersion.current,
          workerID: workerID, store: store))
      response.headers[.vary] = "Accept"
      return response
    }
    // KIP-1017's health check, with Sluice's reading of it: the worker is healthy while no
    // connector or task has FAILED and no task reports a warning (a replication slot holding
    // back too much WAL). FAILED tasks and CRITICAL warnings answer 503; WARNING ones say
    // DEGRADED with 200, since restarting the worker (what a probe failing does) would not help.
    router.get("/health") { _, _ -> Response in
      let report = HealthReport(statuses: status.all(), workerID: workerID)
      return try jsonResponse(
        encoding: report, status: report.isServing ? .ok : .serviceUnavailable)
    }
  }
}

/// `GET /`.
struct WorkerInfo: Encodable {
  var version: String
  var commit: String
  var kafkaClusterID: String?
  var sluiceVersion: String
  var workerID: String
  var store: StoreDescription

  enum CodingKeys: String, CodingKey {
    case version, commit, store
    case kafkaClusterID = "kafka_cluster_id"
    case sluiceVersion = "sluice_version"
    case workerID = "worker_id"
  }
}

/// `GET /health`: UP, or DEGRADED with the failed connectors and every task warning.
struct HealthReport: Encodable {
  /// A task's warning, named by its connector and task.
  struct Warning: Encodable {
    var connector: String
    var task: Int
    var source: String
    var severity: String
    var message: String
  }

  var status: String
  var message: String
  var workerID: String
  var connectors: Int
  var failedConnectors: [String]
  var warnings: [Warning]

  enum CodingKeys: String, CodingKey {
    case status, message, connectors, warnings
    case workerID = "worker_id"
    case failedConnectors = "failed_connectors"
  }

  /// False when a connector or task has FAILED or a task has a CRITICAL warning: 503.
  var isServing: Bool {
    failedConnectors.isEmpty
      && !warnings.contains { $0.severity == TaskWarning.Severity.critical.rawValue }
  }

  init(statuses all: [ConnectorStatus], workerID: String) {
    self.workerID = workerID
    connectors = all.count
    failedConnectors =
      all.filter { s in
        s.connector.state == .failed || s.tasks.contains { $0.state == .failed }
      }.map(\.name)
    warnings = all.flatMap { s in
      s.tasks.flatMap { task in
        (task.warnings ?? []).map {
          Warning(
            connector: s.name, task: task.id, source: $0.source, severity: $0.severity.rawValue,
            message: $0.message)
        }
      }
    }
    var problems: [String] = []
    if !failedConnectors.isEmpty {
      problems.append(
        "\(failedConnectors.count) connector(s) have failed: \(failedConnectors.joined(separator: ", "))"
      )
    }
    for warning in warnings {
      problems.append("\(warning.connector) task \(warning.task): \(warning.message)")
    }
    status = problems.isEmpty ? "UP" : "DEGRADED"
    message =
      problems.isEmpty
      ? "Worker has completed startup and is ready to handle requests."
      : problems.joined(separator: "; ")
  }
}
