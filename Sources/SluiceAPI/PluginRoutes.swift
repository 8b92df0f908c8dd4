import Foundation
import Hummingbird
import SluiceCore

extension AdminAPI {
  /// Kafka Connect's plugin resource: `GET /connector-plugins[?connectorsOnly=]`,
  /// `GET /connector-plugins/{plugin}/config` and `PUT /connector-plugins/{plugin}/config/validate`
  /// (what AKHQ and Kafka UI build their create forms from).
  func addPluginRoutes(to router: Router<BasicRequestContext>) {
    router.get("/connector-plugins") { request, _ -> Response in
      // Sluice has connectors only (no transformations or converters yet), so connectorsOnly
      // changes nothing; it is still checked, as Kafka Connect does.
      if let only = request.uri.queryParameters["connectorsOnly"],
        !["true", "false"].contains(only.lowercased())
      {
        throw APIError(.badRequest, "connectorsOnly must be true or false, got '\(only)'")
      }
      return try jsonResponse(encoding: try registry().plugins.map(\.info))
    }
    router.get("/connector-plugins/:plugin/config") { _, context -> Response in
      let plugin = try lookUpPlugin(try context.parameters.requireDecoded("plugin"))
      return try jsonResponse(encoding: plugin.configKeyInfos)
    }
    router.put("/connector-plugins/:plugin/config/validate") { request, context -> Response in
      let name = try context.parameters.requireDecoded("plugin")
      let plugin = try lookUpPlugin(name)
      var config = try await connectConfig(from: request, flat: true).config
      // Kafka Connect fills in the class from the path when the body leaves it out, and
      // refuses one that names another plugin.
      if let given = config.connectorClass {
        guard plugin.matches(given) else {
          throw APIError(
            .badRequest,
            "Connector class \(given) in the configuration does not match the plugin \(name) in the URL"
          )
        }
      } else {
        config["connector.class"] = plugin.className
      }
      let interpolation = try requireFolder().interpolation
      return try jsonResponse(encoding: try registry().validate(config: config, interpolation: interpolation))
    }
  }

  func registry() throws -> ConnectorRegistry {
    guard let connectors else { throw APIError(.notFound, "this API serves no connectors") }
    return connectors.worker.registry
  }

  private func lookUpPlugin(_ name: String) throws -> ConnectorPlugin {
    // Kafka Connect takes the class name or an alias (its simple name).
    guard let plugin = try registry().plugin(named: name) else {
      throw APIError(.notFound, "Unknown plugin \(name).")
    }
    return plugin
  }
}
