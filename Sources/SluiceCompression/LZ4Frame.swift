import CLZ4

/// LZ4's frame format through liblz4's LZ4F API, as Kafka's codec 3 for RecordBatch v2 (the
/// header-checksum quirk of Kafka's old KafkaLZ4BlockOutputStream applied to message format
/// v0 only).
public enum LZ4Frame {
  static let name = "lz4"

  /// One frame holding `input`, laid out as Kafka's producer writes it: 64 KiB independent
  /// blocks, no content size or checksum, which every Kafka client's reader accepts (some,
  /// like sarama's, reject dependent blocks). Appended to `output`.
  public static func compress(
    _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]
  ) throws {
    var preferences = LZ4F_preferences_t()
    preferences.frameInfo.blockSizeID = LZ4F_max64KB
    preferences.frameInfo.blockMode = LZ4F_blockIndependent
    try output.appendCompressed(bound: LZ4F_compressFrameBound(input.count, &preferences)) {
      out in
      let written = LZ4F_compressFrame(
        out.baseAddress, out.count, input.baseAddress, input.count, &preferences)
      if LZ4F_isError(written) != 0 {
        throw CompressionError.failed(
          codec: name, reason: String(cString: LZ4F_getErrorName(written)))
      }
      return written
    }
  }

  /// The bytes of the frame (or concatenated frames) in `input`, at most `limit` of them.
  public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws -> [UInt8] {
    var context: OpaquePointer?
    let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
    guard LZ4F_isError(created) == 0, let context else {
      throw CompressionError.failed(codec: name, reason: "cannot create a decompression context")
    }
    defer { LZ4F_freeDecompressionContext(context) }
    var output = DecompressionOutput(codec: name, limit: limit, expected: input.count * 4)
    var position = 0
    var needsMore = true
    while needsMore {
      var consumed = 0
      var hint = 0
      try output.write { space in
        var produced = space.count
        consumed = input.count - position
        hint = LZ4F_decompress(
          context, space.baseAddress, &produced, input.baseAddress.map { $0 + position }, &consumed,
          nil)
        if LZ4F_isError(hint) != 0 {
          throw CompressionError.corrupt(
            codec: name, reason: String(cString: LZ4F_getErrorName(hint)))
        }
        return produced
      }
      position += consumed
      if hint == 0 {
        // A frame ended; the context starts on a new one if bytes remain.
        needsMore = position < input.count
      } else if position == input.count && !output.isFull {
        // All input was taken and there was room to spare, yet the frame wants more.
        throw CompressionError.corrupt(codec: name, reason: "the frame is cut short")
      }
    }
    return output.finish()
  }
}
