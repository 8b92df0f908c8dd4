import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import SluiceCore
import SluiceHTTP

/// The admin HTTP API (DESIGN.md §5), shaped like Kafka Connect's REST API where they overlap:
/// health, connectors and their status, topics, reading and producing records, and the Kafka
/// listener's consumer groups.
public struct AdminAPI: Sendable {
  public let store: any TopicStore
  public let status: StatusBoard
  public let workerID: String
  /// The Kafka listener's consumer groups, when it is on.
  public let groups: (any ConsumerGroupDirectory)?
  /// `connectors_dir` and the worker: connectors are created, changed, paused and deleted
  /// through it. Without it (tests of the read-only routes) those routes answer 404.
  public let connectors: ConnectorFolder?
  /// Largest accepted request body; larger ones get 413.
  public var maxBodyBytes = 16 << 20
  /// `api.auth`: the credentials every route but `GET /health` needs; nil: open.
  public var auth: APIAuth?
  /// The log levels `/admin/loggers` reads and sets.
  public var logLevels = LogLevels.shared
  /// What `GET /metrics` exports.
  public var metrics = WorkerMetrics.shared
  /// The recent metrics the dashboard charts; nil: the dashboard shows no charts.
  public var history: MetricsHistory?

  public init(
    store: any TopicStore, status: StatusBoard, workerID: String,
    groups: (any ConsumerGroupDirectory)? = nil, connectors: ConnectorFolder? = nil
  ) {
    self.store = store
    self.status = status
    self.workerID = workerID
    self.groups = groups
    self.connectors = connectors
  }

  /// The router with every route; tests drive it with HummingbirdTesting.
  public func router() -> Router<BasicRequestContext> {
    let router = Router()
    let methods = RouteMethods()
    router.middlewares.add(JSONErrorMiddleware(methods: methods))
    router.middlewares.add(AuthMiddleware(auth: auth))
    addRootRoutes(to: router)
    addConnectorRoutes(to: router)
    addConnectorConfigRoutes(to: router)
    addPluginRoutes(to: router)
    addOffsetRoutes(to: router)
    addSignalRoutes(to: router)
    addTopicRoutes(to: router)
    addGroupRoutes(to: router)
    addLoggerRoutes(to: router)
    addOpenAPIRoutes(to: router)
    addMetricsRoutes(to: router)
    addDashboardRoutes(to: router)
    methods.record(router.routes)
    return router
  }

  /// The API as a service listening on `host:port`, within `limits`; HTTPS with `tls`.
  /// Throws when `tls`'s certificate or key cannot be read or do not fit together.
  public func application(
    host: String, port: Int, limits: ListenerLimits = ListenerLimits(),
    tls: APIConfig.TLSFiles? = nil, logger: Logger
  ) throws -> some ApplicationProtocol {
    let connections = ConnectionCount(name: "admin API \(host):\(port)", logger: logger)
    var server = HTTPServerBuilder.http1(
      configuration: .init(
        additionalChannelHandlers: [ConnectionGuard(limits: limits, connections: connections)],
        idleTimeout: TimeAmount(limits.idleTimeout)))
    if let tls { server = try .tls(server, tlsConfiguration: Self.tlsConfiguration(tls)) }
    return Application(
      router: router(),
      server: server,
      configuration: .init(address: .hostname(host, port: port), serverName: "sluice"),
      logger: logger)
  }
}

extension AdminAPI {
  /// A request's body, at most ``maxBodyBytes`` (413 above it; 400 when it cannot be read).
  func body(of request: Request) async throws -> ByteBuffer {
    var request = request
    do {
      return try await request.collectBody(upTo: maxBodyBytes)
    } catch let error as HTTPError where error.status == .contentTooLarge {
      throw APIError(.contentTooLarge, "request body is larger than \(maxBodyBytes) bytes")
    } catch {
      throw APIError(.badRequest, "the request body cannot be read: \(error)")
    }
  }
}

/// JSON text as a response body.
func jsonResponse(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
  Response(
    status: status, headers: [.contentType: "application/json"],
    body: .init(byteBuffer: ByteBuffer(string: text)))
}

/// A `Codable` value as a JSON response (snake_case keys come from the types' CodingKeys).
func jsonResponse(encoding value: some Encodable, status: HTTPResponse.Status = .ok) throws
  -> Response
{
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  let data = try encoder.encode(value)
  return jsonResponse(String(decoding: data, as: UTF8.self) + "\n", status: status)
}
