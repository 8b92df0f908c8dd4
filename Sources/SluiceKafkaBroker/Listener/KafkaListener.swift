import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceCore
import SluiceHTTP

/// The Kafka listener (`kafka.listen`), a service of the worker: accepts connections, splits
/// them into request frames and answers each with ``KafkaBroker``, one request at a time per
/// connection and in order, as Kafka does. Connections are counted against
/// `listeners.max_connections`; one idle for `kafka.idle_timeout` is closed, and so is one whose
/// request frame takes longer than `listeners.read_timeout` to arrive; a frame over
/// `kafka.max_request_bytes` or one that cannot be parsed closes its connection and nothing else.
public struct KafkaListener: Service {
  let broker: KafkaBroker
  let config: KafkaListenerConfig
  let limits: ListenerLimits
  let logger: Logger
  /// Called with the bound port once the listener accepts connections.
  let onListening: @Sendable (Int) -> Void

  public init(
    broker: KafkaBroker, config: KafkaListenerConfig, limits: ListenerLimits, logger: Logger,
    onListening: @escaping @Sendable (Int) -> Void = { _ in }
  ) {
    self.broker = broker
    self.config = config
    self.limits = limits
    self.logger = logger
    self.onListening = onListening
  }

  public func run() async throws {
    let connections = ConnectionCount(
      name: "kafka listener \(config.host):\(config.port)", logger: logger)
    let (limits, maxFrame, idle) = (limits, config.maxRequestBytes, config.idleTimeout)
    let readTimeout = limits.readTimeout
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .bind(host: config.host, port: config.port) { channel in
        channel.eventLoop.makeCompletedFuture {
          let pipeline = channel.pipeline.syncOperations
          try pipeline.addHandler(ConnectionLimit(limits: limits, connections: connections))
          try pipeline.addHandler(IdleStateHandler(readTimeout: TimeAmount(idle)))
          try pipeline.addHandler(CloseWhenIdle())
          try pipeline.addHandler(
            ByteToMessageHandler(
              KafkaFrameDecoder(maxFrameBytes: maxFrame, readTimeout: readTimeout)))
          return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    // The groups' clock: session expiry and rebalance deadlines.
    let ticker = Task { await broker.groups.runTicker() }
    defer { ticker.cancel() }
    // Transactions a previous run left open or ending are ended; then timeouts are enforced.
    let transactionClock = Task { await broker.transactions.run() }
    defer { transactionClock.cancel() }
    onListening(server.channel.localAddress?.port ?? config.port)
    logger.info("kafka listener started", metadata: ["listen": "\(config.host):\(config.port)"])
    try await withGracefulShutdownHandler {
      try await withThrowingDiscardingTaskGroup { group in
        try await server.executeThenClose { inbound in
          for try await connection in inbound {
            group.addTask { await serve(connection) }
          }
        }
      }
    } onGracefulShutdown: {
      // No new connections; the open ones end after the request they are answering.
      server.channel.close(promise: nil)
    }
    logger.info("kafka listener stopped")
  }

  /// Answers one connection's requests in order until it closes, misbehaves or the worker stops.
  private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
    let host = connection.channel.remoteAddress?.ipAddress ?? ""
    do {
      try await connection.executeThenClose { inbound, outbound in
        try await cancelWhenGracefulShutdown {
          for try await frame in inbound {
            switch await broker.handle(frame: Array(frame.readableBytesView), clientHost: host) {
            case .respond(let bytes): try await outbound.write(ByteBuffer(bytes: bytes))
            case .respondInParts(let buffers): try await outbound.write(contentsOf: buffers)
            case .nothing: break
            case .close(let reason):
              logger.warning(
                "closing a kafka connection",
                metadata: ["client": "\(host)", "reason": "\(reason)"])
              return
            }
          }
        }
      }
    } catch is CancellationError {
    } catch {
      logger.debug("kafka connection ended", metadata: ["client": "\(host)", "error": "\(error)"])
    }
  }
}

/// Closes a connection that has sent nothing for the idle timeout.
private final class CloseWhenIdle: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is IdleStateHandler.IdleStateEvent {
      context.close(promise: nil)
    } else {
      context.fireUserInboundEventTriggered(event)
    }
  }
}
