import NIOCore

/// Splits a connection's bytes into Kafka request frames (a 4-byte big-endian size, then that
/// many bytes). A size below 8 (no room for a request header) or above `maxFrameBytes` is an
/// error that closes the connection before any of the frame is buffered, as Kafka's
/// `socket.request.max.bytes` does.
struct KafkaFrameDecoder: ByteToMessageDecoder {
  typealias InboundOut = ByteBuffer

  let maxFrameBytes: Int

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
      return .needMoreData
    }
    guard size >= 8, Int(size) <= maxFrameBytes else {
      throw FrameTooLarge(size: size, limit: maxFrameBytes)
    }
    guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
    buffer.moveReaderIndex(forwardBy: 4)
    context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(size))!))
    return .continue
  }
}
