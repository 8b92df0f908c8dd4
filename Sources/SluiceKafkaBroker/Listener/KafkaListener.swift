import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import SluiceCore
import SluiceHTTP

/// The Kafka listener (`kafka.listen`), a service of the worker: accepts connections, splits
/// them into request frames and answers each with ``KafkaBroker``, one request at a time per
/// connection and in order, as Kafka does. Connections are counted against
/// `listeners.max_connections`; one idle for `kafka.idle_timeout` is closed, and so is one whose
/// request frame takes longer than `listeners.read_timeout` to arrive; a frame over
/// `kafka.max_request_bytes` or one that cannot be parsed closes its connection and nothing else.
///
/// With `kafka.tls` every connection is TLS (the handler is first in the pipeline); with
/// `kafka.sasl` each connection must authenticate first (``SASLServerSession``).
public struct KafkaListener: Service {
  let broker: KafkaBroker
  let config: KafkaListenerConfig
  let limits: ListenerLimits
  let logger: Logger
  /// The TLS server context, when `kafka.tls` is set.
  let tls: NIOSSLContext?
  /// Called with the bound port once the listener accepts connections.
  let onListening: @Sendable (Int) -> Void

  /// Throws when `kafka.tls`'s certificate or key cannot be read or do not fit together.
  public init(
    broker: KafkaBroker, config: KafkaListenerConfig, limits: ListenerLimits, logger: Logger,
    onListening: @escaping @Sendable (Int) -> Void = { _ in }
  ) throws {
    self.broker = broker
    self.config = config
    self.limits = limits
    self.logger = logger
    self.tls = try config.tls.map(ListenerTLS.context)
    self.onListening = onListening
  }

  public func run() async throws {
    let connections = ConnectionCount(
      name: "kafka listener \(config.host):\(config.port)", logger: logger)
    let (limits, maxFrame, idle) = (limits, config.maxRequestBytes, config.idleTimeout)
    let readTimeout = limits.readTimeout
    let tls = tls
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .bind(host: config.host, port: config.port) { channel in
        channel.eventLoop.makeCompletedFuture {
          let pipeline = channel.pipeline.syncOperations
          if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
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
    // Consumer groups' lag, read at each scrape while the listener runs.
    let groupLag = GroupLagGauges()
    let (offsets, log) = (broker.groups.offsets, broker.store.log)
    let lagHook = WorkerMetrics.shared.onScrape { groupLag.update(offsets: offsets, log: log) }
    defer {
      lagHook.cancel()
      groupLag.removeAll()
    }
    onListening(server.channel.localAddress?.port ?? config.port)
    logger.info(
      "kafka listener started",
      metadata: [
        "listen": "\(config.host):\(config.port)",
        "security_protocol": "\(config.securityProtocol)",
        "sasl_mechanisms": "\(config.sasl?.mechanisms.joined(separator: ",") ?? "")",
      ])
    if let sasl = config.sasl, sasl.mechanisms.contains("PLAIN"), config.tls == nil {
      logger.warning(
        "kafka listener: SASL PLAIN without tls sends passwords in clear text; add kafka.tls")
    }
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
    let credentials = broker.saslCredentials
    do {
      try await connection.executeThenClose { inbound, outbound in
        try await cancelWhenGracefulShutdown {
          var session = credentials.map { SASLServerSession(credentials: $0) }
          for try await frame in inbound {
            let bytes = Array(frame.readableBytesView)
            switch session?.received(frame: bytes) ?? .forward {
            case .forward: break
            case .respond(let answer):
              try await outbound.write(ByteBuffer(bytes: answer))
              if let user = session?.authenticatedUser {
                logger.debug(
                  "kafka client authenticated", metadata: ["client": "\(host)", "user": "\(user)"])
              }
              continue
            case .respondAndClose(let answer, let reason):
              try await outbound.write(ByteBuffer(bytes: answer))
              logger.warning(
                "closing a kafka connection",
                metadata: ["client": "\(host)", "reason": "\(reason)"])
              return
            case .close(let reason):
              logger.warning(
                "closing a kafka connection",
                metadata: ["client": "\(host)", "reason": "\(reason)"])
              return
            }
            switch await broker.handle(frame: bytes, clientHost: host) {
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
