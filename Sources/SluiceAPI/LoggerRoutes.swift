import Foundation
import Hummingbird
import SluiceCore

extension AdminAPI {
  /// Kafka Connect's `/admin/loggers` (KIP-495, KIP-976): read and change log levels while the
  /// worker runs, through ``LogLevels``.
  ///
  /// - `GET /admin/loggers`: `{"<name>":{"level":"INFO","last_modified":null}, …}`, root
  ///   included.
  /// - `GET /admin/loggers/{name}`: `{"level":…,"last_modified":…}`; 404 for an unknown name.
  /// - `PUT /admin/loggers/{name}` with `{"level":"DEBUG"}`: sets the level on the logger and
  ///   every logger below it; 200 with the names it set (`?scope=worker`, the default), or
  ///   204 with `?scope=cluster` as Kafka Connect answers (one worker: the same change).
  func addLoggerRoutes(to router: Router<BasicRequestContext>) {
    let levels = logLevels
    router.get("/admin/loggers") { _, _ -> Response in
      let all = levels.all().mapValues(LoggerLevel.init)
      return try jsonResponse(encoding: all)
    }
    router.get("/admin/loggers/:name") { _, context -> Response in
      let name = try context.parameters.requireDecoded("name")
      guard let entry = levels.entry(for: name) else {
        throw APIError(.notFound, "Logger \(name) not found.")
      }
      return try jsonResponse(encoding: LoggerLevel(entry))
    }
    router.put("/admin/loggers/:name") { request, context -> Response in
      let name = try context.parameters.requireDecoded("name")
      let body = try await self.body(of: request)
      guard case .object(let object)? = JSONValue.parse(Array(body.readableBytesView)) else {
        throw APIError(.badRequest, "the body must be a JSON object like {\"level\":\"DEBUG\"}")
      }
      guard let text = object["level"]?.string else {
        throw APIError(.badRequest, "Desired 'level' parameter was not specified in request.")
      }
      guard let level = LogLevel(rawValue: text.uppercased()) else {
        throw APIError(
          .badRequest,
          "invalid log level '\(text)'; expected one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      let scope = request.uri.queryParameters.get("scope")?.lowercased() ?? "worker"
      if scope != "worker" && scope != "cluster" {
        context.logger.warning(
          "unknown scope for PUT /admin/loggers; using worker",
          metadata: ["scope": "\(scope)"])
      }
      let affected = levels.set(name, to: level)
      context.logger.info(
        "log level changed", metadata: ["logger": "\(name)", "level": "\(level.rawValue)"])
      if scope == "cluster" { return Response(status: .noContent) }
      return try jsonResponse(encoding: affected)
    }
  }
}

/// One logger in `/admin/loggers`: its level and when it was last set (null: never, since the
/// worker started).
struct LoggerLevel: Encodable {
  var level: String
  var lastModified: Int64?

  init(_ entry: LogLevels.Entry) {
    level = entry.level.rawValue
    lastModified = entry.lastModified
  }

  enum CodingKeys: String, CodingKey {
    case level
    case lastModified = "last_modified"
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(level, forKey: .level)
    // Kafka Connect writes null rather than leaving the key out.
    try container.encode(lastModified, forKey: .lastModified)
  }
}
