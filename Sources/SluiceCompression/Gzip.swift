import CZlib

/// gzip (RFC 1952) through zlib, as Kafka's codec 1: the Java client writes a
/// `GZIPOutputStream`, librdkafka a zlib stream with the gzip wrapper.
public enum Gzip {
  static let name = "gzip"
  // windowBits 15 (32 KiB window) + 16: write the gzip wrapper, not zlib's.
  private static let gzipWindowBits: Int32 = 15 + 16
  // + 32: detect gzip or zlib from the header, as librdkafka's reader does.
  private static let autoWindowBits: Int32 = 15 + 32

  /// One gzip member holding `input`, at zlib's default level (6, as Kafka's default),
  /// appended to `output`.
  public static func compress(
    _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]
  ) throws {
    guard input.count <= Int(UInt32.max) else {
      throw CompressionError.failed(
        codec: name, reason: "input of \(input.count) bytes is too large")
    }
    var stream = z_stream()
    var status = deflateInit2_(
      &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY,
      zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    guard status == Z_OK else { throw error(status, stream) }
    defer { deflateEnd(&stream) }
    // deflateBound is the worst case for this stream's settings, so one Z_FINISH suffices.
    try output.appendCompressed(bound: Int(deflateBound(&stream, uLong(input.count)))) { out in
      stream.next_in = mutableBytes(input)
      stream.avail_in = uInt(input.count)
      stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
      stream.avail_out = uInt(out.count)
      status = deflate(&stream, Z_FINISH)
      guard status == Z_STREAM_END else { throw error(status, stream) }
      return out.count - Int(stream.avail_out)
    }
  }

  /// The bytes of every gzip (or zlib) member in `input`, at most `limit` of them.
  public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws -> [UInt8] {
    guard input.count <= Int(UInt32.max) else {
      throw CompressionError.corrupt(
        codec: name, reason: "input of \(input.count) bytes is too large")
    }
    var stream = z_stream()
    var status = inflateInit2_(
      &stream, autoWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    guard status == Z_OK else { throw error(status, stream) }
    defer { inflateEnd(&stream) }
    stream.next_in = mutableBytes(input)
    stream.avail_in = uInt(input.count)
    var output = DecompressionOutput(codec: name, limit: limit, expected: input.count * 4)
    while true {
      try output.write { space in
        stream.next_out = space.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(space.count)
        status = inflate(&stream, Z_NO_FLUSH)
        return space.count - Int(stream.avail_out)
      }
      switch status {
      case Z_STREAM_END:
        // GZIPInputStream reads concatenated members as one stream; so does this.
        if stream.avail_in == 0 { return output.finish() }
        status = inflateReset(&stream)
        guard status == Z_OK else { throw error(status, stream) }
      case Z_OK:
        continue
      case Z_BUF_ERROR where output.isFull:
        // No room was left: the next write grows the buffer (or reports the limit).
        continue
      case Z_BUF_ERROR:
        throw CompressionError.corrupt(codec: name, reason: "the stream ends before its trailer")
      default:
        throw error(status, stream)
      }
    }
  }

  /// zlib never writes through `next_in`; its declaration is just not const.
  private static func mutableBytes(_ input: UnsafeRawBufferPointer) -> UnsafeMutablePointer<Bytef>?
  {
    UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
  }

  private static func error(_ status: Int32, _ stream: z_stream) -> CompressionError {
    let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
    switch status {
    case Z_DATA_ERROR, Z_NEED_DICT:
      return .corrupt(codec: name, reason: message)
    default:
      return .failed(codec: name, reason: message)
    }
  }
}
