import HummingbirdCore
import Logging
import NIOCore
import SluiceCore

/// Counts a listener's TCP connections against `max_connections` where ``ConnectionGuard``
/// cannot: over h2c, HTTP handlers see streams, so the count is taken at the connection, before
/// any HTTP/2 decoding; the Kafka listener has no HTTP at all. A connection over the limit is
/// closed as soon as it is accepted.
public final class ConnectionLimit: ChannelInboundHandler, RemovableChannelHandler {
  public typealias InboundIn = ByteBuffer
  public typealias InboundOut = ByteBuffer

  private let limits: ListenerLimits
  private let connections: ConnectionCount
  private var admitted = false
  private var decided = false

  public init(limits: ListenerLimits, connections: ConnectionCount) {
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

  private func admit(_ context: ChannelHandlerContext) {
    guard !decided else { return }
    decided = true
    admitted = connections.open(limit: limits.maxConnections)
    if !admitted { context.close(promise: nil) }
  }

  private func release() {
    if admitted {
      admitted = false
      connections.close()
    }
  }
}

/// A server child channel (an h2c listener's, say) whose TCP connections are counted by a
/// ``ConnectionLimit`` put first in each connection's pipeline.
public struct ConnectionLimitedChannel<Base: ServerChildChannel>: ServerChildChannel {
  public typealias Value = Base.Value

  let base: Base
  let limits: ListenerLimits
  let connections: ConnectionCount

  public init(_ base: Base, limits: ListenerLimits, connections: ConnectionCount) {
    self.base = base
    self.limits = limits
    self.connections = connections
  }

  public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
    do {
      try channel.pipeline.syncOperations.addHandler(
        ConnectionLimit(limits: limits, connections: connections), position: .first)
    } catch {
      return channel.eventLoop.makeFailedFuture(error)
    }
    return base.setup(channel: channel, logger: logger)
  }

  public func handle(value: Value, logger: Logger) async {
    await base.handle(value: value, logger: logger)
  }
}
