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
    // connector or task has FAILED (503 names them).
    router.get("/health") { _, _ -> Response in
      let all = status.all()
      let failed = all.filter { s in
        s.connector.state == .failed || s.tasks.contains { $0.state == .failed }
      }
      let body = HealthReport(
        status: failed.isEmpty ? "UP" : "DEGRADED",
        message: failed.isEmpty
          ? "Worker has completed startup and is ready to handle requests."
          : "\(failed.count) connector(s) have failed: \(failed.map(\.name).joined(separator: ", "))",
        workerID: workerID, connectors: all.count, failedConnectors: failed.map(\.name))
      return try jsonResponse(encoding: body, status: failed.isEmpty ? .ok : .serviceUnavailable)
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

struct HealthReport: Encodable {
  var status: String
  var message: String
  var workerID: String
  var connectors: Int
  var failedConnectors: [String]

  enum CodingKeys: String, CodingKey {
    case status, message, connectors
    case workerID = "worker_id"
    case failedConnectors = "failed_connectors"
  }
}
