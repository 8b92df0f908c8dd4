import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import ServiceLifecycle
import SluiceCore
import SluiceHTTP
import Synchronization

/// A webhook connector's request handler: gets the request, answers it.
typealias WebhookHandler = @Sendable (Request, BasicRequestContext) async throws -> Response

/// The HTTP servers webhook connectors share: one per listen address, with each connector's path
/// routed to its handler. Connectors come and go while a server runs; the last one to leave a
/// server stops it, gracefully: it takes no new connection, answers the requests it holds
/// (their records are durable first, as always) and closes; a request still open after
/// ``drainTimeout`` (a slow upload) is cut.
actor WebhookListeners {
  static let shared = WebhookListeners()
  static let drainTimeout: Duration = .seconds(5)

  private final class Listener: Sendable {
    let http2: Bool
    init(http2: Bool) { self.http2 = http2 }
    let routes = Mutex<[String: WebhookHandler]>([:])
    /// The server, as the one service of a group of its own: stopping it is graceful.
    let server = Mutex<(group: ServiceGroup, task: Task<Void, Never>)?>(nil)
  }

  private var listeners: [String: Listener] = [:]

  /// Routes `path` on `host:port` to `handler`, starting the server if needed. Throws when the
  /// address cannot be bound or the path is taken.
  func register(
    host: String, port: Int, http2: Bool, path: String, logger: Logger,
    handler: @escaping WebhookHandler
  ) async throws {
    let address = "\(host):\(port)"
    if let listener = listeners[address] {
      guard listener.http2 == http2 else { throw WebhookError.protocolMismatch(address) }
      try listener.routes.withLock { routes in
        if routes[path] != nil { throw WebhookError.pathInUse(address, path) }
        routes[path] = handler
      }
      return
    }
    let listener = Listener(http2: http2)
    listener.routes.withLock { $0[path] = handler }
    let responder = CallbackResponder<BasicRequestContext> { request, context in
      let route = listener.routes.withLock { $0[request.uri.path] }
      guard let route else {
        return WebhookResponse.error(.notFound, "no webhook at \(request.uri.path)")
      }
      return try await route(request, context)
    }
    let started = StartSignal()
    let limits = ListenerLimits.current
    let connections = ConnectionCount(name: "webhook listener \(address)", logger: logger)
    // Over h2c the guard sees streams, not connections: its timeouts apply per stream, the
    // connections are counted by a ConnectionLimit ahead of HTTP/2, and a connection's idle
    // timeout is HTTP/2's own.
    let guarded = HTTP1Channel.Configuration(
      additionalChannelHandlers: [
        ConnectionGuard(limits: limits, connections: http2 ? nil : connections)
      ],
      idleTimeout: TimeAmount(limits.idleTimeout))
    let server: HTTPServerBuilder =
      http2
      ? HTTPServerBuilder { responder in
        ConnectionLimitedChannel(
          HTTP2Channel(
            responder: responder,
            configuration: .init(idleTimeout: limits.idleTimeout, streamConfiguration: guarded)),
          limits: limits, connections: connections)
      }
      : .http1(configuration: guarded)
    let app = Application(
      responder: responder, server: server,
      configuration: .init(address: .hostname(host, port: port), serverName: "sluice-webhook"),
      onServerRunning: { _ in started.finish(nil) }, logger: logger)
    var configuration = ServiceGroupConfiguration(services: [app], logger: logger)
    configuration.maximumGracefulShutdownDuration = Self.drainTimeout
    let group = ServiceGroup(configuration: configuration)
    // Detached: the server belongs to no connector's task; only `unregister` stops it.
    let task = Task.detached {
      do {
        try await group.run()
      } catch {
        started.finish(error)
      }
      started.finish(WebhookError.stopped(address))
    }
    listener.server.withLock { $0 = (group, task) }
    // Published before waiting, so a connector registering meanwhile joins this server.
    listeners[address] = listener
    if let error = await started.wait() {
      task.cancel()
      if listeners[address] === listener { listeners[address] = nil }
      throw WebhookError.cannotListen(address, "\(error)")
    }
  }

  /// Removes a route; stops the server gracefully when it has none left, and returns once it
  /// has stopped.
  func unregister(host: String, port: Int, path: String) async {
    let address = "\(host):\(port)"
    guard let listener = listeners[address] else { return }
    let empty = listener.routes.withLock { routes in
      routes[path] = nil
      return routes.isEmpty
    }
    guard empty else { return }
    listeners[address] = nil
    guard let server = listener.server.withLock({ $0 }) else { return }
    await server.group.triggerGracefulShutdown()
    await server.task.value
  }
}

/// Resumes the one waiter once the server is running or has failed to start.
private final class StartSignal: Sendable {
  private let state = Mutex<
    (done: Bool, error: (any Error)?, waiter: CheckedContinuation<(any Error)?, Never>?)
  >((false, nil, nil))

  func finish(_ error: (any Error)?) {
    let waiter = state.withLock { s -> CheckedContinuation<(any Error)?, Never>? in
      if s.done { return nil }
      s.done = true
      s.error = error
      defer { s.waiter = nil }
      return s.waiter
    }
    waiter?.resume(returning: error)
  }

  func wait() async -> (any Error)? {
    await withCheckedContinuation { continuation in
      let ready = state.withLock { s -> (Bool, (any Error)?) in
        if s.done { return (true, s.error) }
        s.waiter = continuation
        return (false, nil)
      }
      if ready.0 { continuation.resume(returning: ready.1) }
    }
  }
}

/// Why a webhook endpoint cannot run.
enum WebhookError: Error, CustomStringConvertible {
  case pathInUse(String, String)
  case cannotListen(String, String)
  case stopped(String)
  case protocolMismatch(String)

  var description: String {
    switch self {
    case .pathInUse(let address, let path):
      "another webhook connector already serves \(path) on \(address)"
    case .cannotListen(let address, let reason): "cannot listen on \(address): \(reason)"
    case .stopped(let address): "the webhook server on \(address) stopped"
    case .protocolMismatch(let address):
      "webhook connectors on \(address) must all use the same protocol (http1 or h2c)"
    }
  }
}

/// JSON answers of webhook endpoints.
enum WebhookResponse {
  static func error(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:])
    -> Response
  {
    let body = ErrorBody.json(code: status.code, message: message)
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(
      status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
  }

  static func json(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:])
    -> Response
  {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(
      status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
  }
}
