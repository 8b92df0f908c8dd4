import Hummingbird
import SluiceCore

extension AdminAPI {
  /// `GET /health`: 200 when every connector task runs, 503 listing the ones that do not.
  func addHealthRoutes(to router: Router<BasicRequestContext>) {
    // Kafka Connect's root resource (version, kafka_cluster_id), plus where the topics live.
    router.get("/") { _, _ -> Response in
      let store = await store.describeStore()
      return try jsonResponse(
        encoding: WorkerInfo(
          version: SluiceVersion.current, kafkaClusterID: store.clusterID, workerID: workerID,
          store: store))
    }
    router.get("/health") { _, _ -> Response in
      let all = status.all()
      let failed = all.filter { s in
        s.connector.state == .failed || s.tasks.contains { $0.state == .failed }
      }
      let body = HealthReport(
        status: failed.isEmpty ? "UP" : "DEGRADED", workerID: workerID, connectors: all.count,
        failedConnectors: failed.map(\.name))
      return try jsonResponse(encoding: body, status: failed.isEmpty ? .ok : .serviceUnavailable)
    }
  }

  /// `GET /connectors` (names, or `?expand=status`) and `GET /connectors/{name}/status`.
  func addConnectorRoutes(to router: Router<BasicRequestContext>) {
    router.get("/connectors") { request, _ -> Response in
      let all = status.all()
      if request.uri.queryParameters["expand"] == "status" {
        let expanded = Dictionary(
          uniqueKeysWithValues: all.map { ($0.name, ExpandedStatus(status: $0)) })
        return try jsonResponse(encoding: expanded)
      }
      return try jsonResponse(encoding: all.map(\.name))
    }
    router.get("/connectors/:name/status") { _, context -> Response in
      let name = try context.parameters.require("name")
      guard let s = status.status(of: name) else {
        throw APIError(.notFound, "connector '\(name)' not found")
      }
      return try jsonResponse(encoding: s)
    }
    router.get("/connectors/:name") { _, context -> Response in
      let name = try context.parameters.require("name")
      guard let s = status.status(of: name) else {
        throw APIError(.notFound, "connector '\(name)' not found")
      }
      return try jsonResponse(
        encoding: ConnectorInfo(
          name: s.name, type: s.type, connectorType: s.connectorType, configFile: s.configFile,
          tasks: s.tasks.count))
    }
  }
}

/// `GET /`.
struct WorkerInfo: Encodable {
  var version: String
  var kafkaClusterID: String?
  var workerID: String
  var store: StoreDescription

  enum CodingKeys: String, CodingKey {
    case version, store
    case kafkaClusterID = "kafka_cluster_id"
    case workerID = "worker_id"
  }
}

struct HealthReport: Encodable {
  var status: String
  var workerID: String
  var connectors: Int
  var failedConnectors: [String]

  enum CodingKeys: String, CodingKey {
    case status, connectors
    case workerID = "worker_id"
    case failedConnectors = "failed_connectors"
  }
}

struct ExpandedStatus: Encodable {
  var status: ConnectorStatus
}

struct ConnectorInfo: Encodable {
  var name: String
  var type: String
  var connectorType: String
  var configFile: String
  var tasks: Int

  enum CodingKeys: String, CodingKey {
    case name, type, tasks
    case connectorType = "connector_type"
    case configFile = "config_file"
  }
}
