import Logging
import NIOCore
import NIOHTTPTypes
import SluiceCore
import Synchronization

/// Enforces ``ListenerLimits`` on one HTTP/1 connection (or HTTP/2 stream) of a listener: refuses the connection
/// when the listener already holds `maxConnections`, and closes it when the client takes longer
/// than `headerTimeout` to send a request head, `readTimeout` to send its body, or
/// `idleTimeout` between requests. Added to every connection's pipeline after HTTP decoding.
///
/// Running out of file descriptors while accepting is already backpressure in SwiftNIO (its
/// server bootstrap stops accepting for a moment); the connection limit keeps a listener well
/// below that point.
public final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
  public typealias InboundIn = HTTPRequestPart
  public typealias InboundOut = HTTPRequestPart
  public typealias OutboundIn = HTTPResponsePart
  public typealias OutboundOut = HTTPResponsePart

  private let limits: ListenerLimits
  /// The listener's connection count, or nil where the guard sees an HTTP/2 stream and
  /// ``ConnectionLimit`` counts the connection.
  private let connections: ConnectionCount?
  /// Whether this connection holds one of the listener's places.
  private enum Admission { case pending, admitted, refused }
  private var admission = Admission.pending
  private var timer: Scheduled<Void>?

  public init(limits: ListenerLimits, connections: ConnectionCount?) {
    self.limits = limits
    self.connections = connections
  }

  public func handlerAdded(context: ChannelHandlerContext) {
    if context.channel.isActive { admit(context) }
  }

  public func channelActive(context: ChannelHandlerContext) {
    admit(context)
    context.fireChannelActive()
  }

  public func channelInactive(context: ChannelHandlerContext) {
    release()
    context.fireChannelInactive()
  }

  public func handlerRemoved(context: ChannelHandlerContext) { release() }

  public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head: arm(context, limits.readTimeout)
    case .body: break
    case .end: cancelTimer()
    }
    context.fireChannelRead(data)
  }

  public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?)
  {
    if case .end = unwrapOutboundIn(data) {
      // The next request's head is awaited for as long as an idle connection may stay.
      arm(context, limits.idleTimeout)
    }
    context.write(data, promise: promise)
  }

  private func admit(_ context: ChannelHandlerContext) {
    guard admission == .pending else { return }
    guard connections?.open(limit: limits.maxConnections) ?? true else {
      admission = .refused
      context.close(promise: nil)
      return
    }
    admission = .admitted
    arm(context, limits.headerTimeout)
  }

  private func release() {
    cancelTimer()
    if admission == .admitted {
      admission = .refused
      connections?.close()
    }
  }

  private func arm(_ context: ChannelHandlerContext, _ timeout: Duration) {
    cancelTimer()
    let channel = context.channel
    timer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) { channel.close(promise: nil) }
  }

  private func cancelTimer() {
    timer?.cancel()
    timer = nil
  }
}

/// The open connections of one listener, shared by its ``ConnectionGuard``s; refusals at the
/// limit are logged once a minute at most, not once per connection.
public final class ConnectionCount: Sendable {
  private let open = Mutex(0)
  private let name: String
  private let logger: Logger
  private let warnings = WarningRateLimiter()

  public init(name: String, logger: Logger) {
    self.name = name
    self.logger = logger
  }

  /// Counts a new connection; false (and not counted) when `limit` are already open.
  func open(limit: Int) -> Bool {
    let admitted = open.withLock { count in
      guard count < limit else { return false }
      count += 1
      return true
    }
    if !admitted,
      let line = warnings.line(
        "full", "\(name) refuses new connections: \(limit) are open (listeners.max_connections)")
    {
      logger.warning("\(line)")
    }
    return admitted
  }

  func close() { open.withLock { $0 -= 1 } }
}
