import CZstd

/// Zstandard as Kafka's codec 4: standard frames, decoded by streaming because producers
/// (zstd-jni's ZstdOutputStream, librdkafka) need not record the content size.
public enum Zstd {
  static let name = "zstd"
  /// Kafka's default level (`compression.zstd.level` = 3).
  static let level: Int32 = 3

  /// One frame holding `input` at level 3, with its content size, appended to `output`.
  public static func compress(
    _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]
  ) throws {
    try output.appendCompressed(bound: ZSTD_compressBound(input.count)) { out in
      let written = ZSTD_compress(
        out.baseAddress, out.count, input.baseAddress, input.count, level)
      if ZSTD_isError(written) != 0 {
        throw CompressionError.failed(
          codec: name, reason: String(cString: ZSTD_getErrorName(written)))
      }
      return written
    }
  }

  /// The bytes of the frames in `input`, at most `limit` of them.
  public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws -> [UInt8] {
    guard let context = ZSTD_createDCtx() else {
      throw CompressionError.failed(codec: name, reason: "cannot create a decompression context")
    }
    defer { ZSTD_freeDCtx(context) }
    // The window a frame declares stays under zstd's default cap of 128 MiB (windowLog 27),
    // which Kafka's own consumers (zstd-jni) accept too: producers at the highest levels may
    // declare that much whatever the batch's size. The buffer is only touched as output fills it, and the limit
    // stops output, so a declared window costs address space, not memory.
    var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
    // A frame that states its size (ZSTD_compress's do; streaming producers' need not) is
    // sized exactly, and refused before any work when the size is past the limit. The two
    // largest values mean "unknown" and "not a frame header" (ZSTD_CONTENTSIZE_UNKNOWN, _ERROR).
    var expected = input.count * 4
    let stated = ZSTD_getFrameContentSize(input.baseAddress, input.count)
    if stated < UInt64.max - 1 {
      guard stated <= UInt64(max(0, limit)) else {
        throw CompressionError.limitExceeded(codec: name, limit: limit)
      }
      expected = Int(stated)
    }
    var output = DecompressionOutput(codec: name, limit: limit, expected: expected)
    var remaining = 1
    while true {
      try output.write { space in
        var destination = ZSTD_outBuffer(dst: space.baseAddress, size: space.count, pos: 0)
        remaining = ZSTD_decompressStream(context, &destination, &source)
        if ZSTD_isError(remaining) != 0 {
          throw CompressionError.corrupt(
            codec: name, reason: String(cString: ZSTD_getErrorName(remaining)))
        }
        return destination.pos
      }
      // 0: a frame is complete and flushed; another may follow in the remaining input.
      if remaining == 0 && source.pos == source.size { return output.finish() }
      if source.pos == source.size && !output.isFull && remaining != 0 {
        throw CompressionError.corrupt(codec: name, reason: "the frame is cut short")
      }
    }
  }
}
