import NIOCore
import SluiceKafka

/// One request on its way to the broker: the encoded body and the promise its answer (the
/// response body, header removed) completes.
struct OutgoingRequest: Sendable {
  var apiKey: ApiKey
  var version: Int16
  var clientId: String
  var body: [UInt8]
  /// False for a Produce with acks 0: the broker sends nothing, so the promise completes with
  /// an empty body once the frame is written.
  var expectsResponse: Bool
  var timeout: TimeAmount
  var promise: EventLoopPromise<[UInt8]>
}

/// The client side of a Kafka connection, on the channel's event loop: assigns correlation
/// ids, frames requests (size, request header v1 or v2, body), matches each response to the
/// oldest request in flight (Kafka answers in order), strips the response header (v0, or v1
/// for flexible responses) and fails every request in flight when the connection breaks or one
/// of them times out.
final class KafkaClientChannelHandler: ChannelDuplexHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundIn = OutgoingRequest
  typealias OutboundOut = ByteBuffer

  private struct InFlight {
    var correlationId: Int32
    var apiKey: ApiKey
    var version: Int16
    var promise: EventLoopPromise<[UInt8]>
    var timeout: Scheduled<Void>?
  }

  private let broker: String
  private var inFlight = CircularBuffer<InFlight>()
  private var nextCorrelationId: Int32 = 1
  /// Set once the connection is unusable: later writes fail with it at once.
  private var failure: KafkaClientError?

  init(broker: String) {
    self.broker = broker
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    let request = unwrapOutboundIn(data)
    if let failure {
      request.promise.fail(failure)
      promise?.fail(failure)
      return
    }
    let correlationId = nextCorrelationId
    nextCorrelationId = correlationId == .max ? 1 : correlationId + 1
    var writer = KafkaWriter(capacity: request.body.count + 32)
    let size = writer.reserveLengthPrefix()
    RequestHeader(
      requestApiKey: request.apiKey.rawValue, requestApiVersion: request.version,
      correlationId: correlationId, clientId: request.clientId
    ).write(to: &writer, version: request.apiKey.requestHeaderVersion(for: request.version))
    writer.writeRawBytes(request.body)
    writer.patchLengthPrefix(at: size)
    var buffer = context.channel.allocator.buffer(capacity: writer.count)
    buffer.writeBytes(writer.bytes)

    if request.expectsResponse {
      let loop = context.eventLoop.assumeIsolated()
      let timeout = loop.scheduleTask(in: request.timeout) { [self] in
        self.timedOut(correlationId, after: request.timeout, context: context)
      }
      inFlight.append(
        InFlight(
          correlationId: correlationId, apiKey: request.apiKey, version: request.version,
          promise: request.promise, timeout: timeout))
      context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
    } else {
      let written = context.eventLoop.makePromise(of: Void.self)
      written.futureResult.whenComplete { result in
        switch result {
        case .success: request.promise.succeed([])
        case .failure(let error): request.promise.fail(error)
        }
      }
      written.futureResult.cascade(to: promise)
      context.writeAndFlush(wrapOutboundOut(buffer), promise: written)
    }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var frame = unwrapInboundIn(data)
    guard let correlationId = frame.readInteger(as: Int32.self) else {
      fail(context: context, KafkaClientError(.protocolViolation, broker: broker, "empty frame"))
      return
    }
    guard let first = inFlight.first, first.correlationId == correlationId else {
      fail(
        context: context,
        KafkaClientError(
          .protocolViolation, broker: broker,
          "response for correlation id \(correlationId), expected \(inFlight.first.map { "\($0.correlationId)" } ?? "none")"
        ))
      return
    }
    inFlight.removeFirst()
    first.timeout?.cancel()
    var reader = KafkaReader(frame.readBytes(length: frame.readableBytes) ?? [])
    if first.apiKey.responseHeaderVersion(for: first.version) >= 1 {
      do {
        try reader.readTaggedFields(field: "ResponseHeader.taggedFields") { _, _ in }
      } catch {
        first.promise.fail(
          KafkaClientError(.protocolViolation, broker: broker, "response header: \(error)"))
        return
      }
    }
    first.promise.succeed(reader.remainingBytes)
  }

  func channelInactive(context: ChannelHandlerContext) {
    failAll(failure ?? KafkaClientError(.connectionClosed, broker: broker, "connection closed"))
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: Error) {
    let reason =
      (error as? KafkaClientError)
      ?? KafkaClientError(.connectionClosed, broker: broker, "connection broke: \(error)")
    fail(context: context, reason)
  }

  private func timedOut(
    _ correlationId: Int32, after timeout: TimeAmount, context: ChannelHandlerContext
  ) {
    guard inFlight.contains(where: { $0.correlationId == correlationId }) else { return }
    // Responses come in order: with one missing, the connection's state is unknown.
    let ms = timeout.nanoseconds / 1_000_000
    fail(
      context: context,
      KafkaClientError(.requestTimedOut, broker: broker, "no response within \(ms) ms"),
      only: correlationId)
  }

  /// Fails the request `only` (or every request) with `error`, the rest as closed, and
  /// closes the connection.
  private func fail(context: ChannelHandlerContext, _ error: KafkaClientError, only: Int32? = nil) {
    if failure == nil {
      failure =
        only == nil
        ? error
        : KafkaClientError(
          .connectionClosed, broker: broker, "closed after a request timed out")
    }
    if let only, let index = inFlight.firstIndex(where: { $0.correlationId == only }) {
      let request = inFlight.remove(at: index)
      request.promise.fail(error)
    }
    failAll(failure!)
    context.close(promise: nil)
  }

  private func failAll(_ error: KafkaClientError) {
    if failure == nil { failure = error }
    while let request = inFlight.popFirst() {
      request.timeout?.cancel()
      request.promise.fail(error)
    }
  }
}
