import NIOCore

/// Splits the inbound byte stream into Kafka frames: a 4-byte big-endian size, then that many
/// bytes (the response header and body), which it passes on without the size.
struct KafkaFrameDecoder: ByteToMessageDecoder {
  typealias InboundOut = ByteBuffer

  /// The largest frame accepted; a bigger size means a broken or hostile peer.
  let maxFrameBytes: Int

  mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws
    -> DecodingState
  {
    guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else {
      return .needMoreData
    }
    guard size >= 4, Int(size) <= maxFrameBytes else {
      throw KafkaClientError(.protocolViolation, "response frame of \(size) bytes")
    }
    guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
    buffer.moveReaderIndex(forwardBy: 4)
    context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(size))!))
    return .continue
  }
}
