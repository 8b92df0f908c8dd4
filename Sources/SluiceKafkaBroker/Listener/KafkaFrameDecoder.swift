import NIOCore

/// Splits a connection's bytes into Kafka request frames (a 4-byte big-endian size, then that
/// many bytes). A size below 8 (no room for a request header) or above `maxFrameBytes` is an
/// error that closes the connection before any of the frame is buffered, as Kafka's
/// `socket.request.max.bytes` does; a frame begun and not complete within `readTimeout`
/// (`listeners.read_timeout`) closes it too, so a client trickling bytes cannot hold it.
struct KafkaFrameDecoder: ByteToMessageDecoder {
  typealias InboundOut = ByteBuffer

  let maxFrameBytes: Int
  let readTimeout: Duration
  /// Closes the connection if the frame under way is not complete in time.
  private var deadline: Scheduled<Void>?

  init(maxFrameBytes: Int, readTimeout: Duration) {
    self.maxFrameBytes = maxFrameBytes
    self.readTimeout = readTimeout
  }

  struct FrameTooLarge: Error, CustomStringConvertible {
    var size: Int32
    var limit: Int
    var description: String {
      size < 0
        ? "a request frame cannot have a negative size (\(size))"
        : "request frame of \(size) bytes is larger than kafka.max_request_bytes (\(limit))"
    }
  }

  mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws
    -> DecodingState
  {
    guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else {
      return waitForMore(context, buffered: buffer.readableBytes)
    }
    guard size >= 8, Int(size) <= maxFrameBytes else {
      throw FrameTooLarge(size: size, limit: maxFrameBytes)
    }
    guard buffer.readableBytes >= 4 + Int(size) else {
      return waitForMore(context, buffered: buffer.readableBytes)
    }
    deadline?.cancel()
    deadline = nil
    buffer.moveReaderIndex(forwardBy: 4)
    context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(size))!))
    return .continue
  }

  mutating func decoderRemoved(context: ChannelHandlerContext) {
    deadline?.cancel()
    deadline = nil
  }

  /// Arms the frame's deadline when its first bytes have come.
  private mutating func waitForMore(_ context: ChannelHandlerContext, buffered: Int)
    -> DecodingState
  {
    if buffered > 0 && deadline == nil {
      let channel = context.channel
      deadline = context.eventLoop.scheduleTask(in: TimeAmount(readTimeout)) {
        channel.close(promise: nil)
      }
    }
    return .needMoreData
  }
}
