import Foundation
import Hummingbird
import SluiceCore

extension AdminAPI {
  /// The dashboard: `GET /ui` (the page), `GET /ui/state` (what it polls) and its two assets.
  /// `GET /` serves the page too when the request prefers HTML (RootRoutes.swift). Like every
  /// route they sit behind ``AuthMiddleware``; with basic auth the browser's own prompt covers
  /// the page and the requests its script makes.
  func addDashboardRoutes(to router: Router<BasicRequestContext>) {
    router.get("/ui") { _, _ -> Response in
      await dashboardPage()
    }
    router.get("/ui/state") { _, _ -> Response in
      var response = try jsonResponse(encoding: await dashboardState())
      response.headers[.cacheControl] = "no-store"
      return response
    }
    router.get("/ui/dashboard.js") { _, _ -> Response in
      DashboardAssets.response(DashboardAssets.script, type: "text/javascript; charset=utf-8")
    }
    router.get("/ui/dashboard.css") { _, _ -> Response in
      DashboardAssets.response(DashboardAssets.stylesheet, type: "text/css; charset=utf-8")
    }
  }

  /// The page, rendered with the current state.
  func dashboardPage() async -> Response {
    let html = DashboardPage.render(await dashboardState())
    var headers = DashboardAssets.securityHeaders
    headers[.contentType] = "text/html; charset=utf-8"
    headers[.cacheControl] = "no-store"
    return Response(
      status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
  }

  /// Everything the page shows, read now.
  func dashboardState() async -> DashboardState {
    let definitions = await connectors?.worker.definitions ?? [:]
    var builder = DashboardStateBuilder(
      worker: WorkerSummary(
        id: workerID, version: SluiceVersion.current,
        kafkaConnectVersion: SluiceVersion.kafkaConnect, store: await store.describeStore()),
      statuses: status.all())
    builder.deadLetterTopics = definitions.compactMapValues { $0.sinkErrorPolicy.deadLetterTopic }
    if let registry = connectors?.worker.registry {
      for (name, definition) in definitions {
        let warn = Self.setting(DashboardStateBuilder.warnDetail, of: definition, in: registry)
        let fail = Self.setting(DashboardStateBuilder.failDetail, of: definition, in: registry)
        if warn != nil || fail != nil { builder.slotThresholds[name] = (warn, fail) }
      }
    }
    // A store out of reach (a Kafka cluster) must not take the connectors off the page too.
    do {
      builder.topics = try await store.describeTopics()
    } catch {
      builder.topicsError = "the topics cannot be listed: \(error)"
    }
    if let history {
      builder.history = history.all()
      builder.sampleIntervalMs = Int64(history.interval / .milliseconds(1))
      builder.windowMs = Int64(history.window / .milliseconds(1))
    }
    builder.now = currentTimeMillis()
    return builder.build()
  }
}

extension AdminAPI {
  /// A key of a connector's `config:` as its file says it, else its type's default: the CDC
  /// connector's slot thresholds, which the page draws as lines across the slot's chart.
  static func setting(
    _ key: String, of definition: ConnectorDefinition, in registry: ConnectorRegistry
  ) -> String? {
    if case .mapping(let entries) = definition.config.content,
      let value = entries.first(where: { $0.key == key })?.value, !value.isNull
    {
      return try? value.string()
    }
    let type: String
    switch definition.role {
    case .source(let name), .sink(let name): type = name
    }
    return registry.plugins.first { $0.sluiceType == type }?
      .definitions.first { $0.name == key }?.defaultValue
  }
}

/// The page's script and stylesheet, compiled into the binary (SwiftPM's `embedInCode`): the
/// dashboard needs no file beside the worker and no network beyond it.
enum DashboardAssets {
  static let script = ByteBuffer(bytes: PackageResources.dashboard_js)
  static let stylesheet = ByteBuffer(bytes: PackageResources.dashboard_css)

  /// The page loads only its own script, styles and API: nothing from elsewhere, no inline
  /// script, and no framing by another site (a pause button inside someone else's frame).
  static let securityHeaders: HTTPFields = [
    .contentSecurityPolicy:
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    .xContentTypeOptions: "nosniff",
  ]

  static func response(_ body: ByteBuffer, type: String) -> Response {
    var headers = securityHeaders
    headers[.contentType] = type
    // Revalidated on each load, so a browser never runs an old script against a newer worker.
    headers[.cacheControl] = "no-cache"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
  }
}
