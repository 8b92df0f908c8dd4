import CLZ4

/// LZ4's frame format through liblz4's LZ4F API, as Kafka's codec 3 for RecordBatch v2 (the
/// header-checksum quirk of Kafka's old KafkaLZ4BlockOutputStream applied to message format
/// v0 only).
public enum LZ4Frame {
  static let name = "lz4"

  /// One frame holding `input`, laid out as Kafka's producer writes it: 64 KiB independent
  /// blocks, no content size or checksum, which every Kafka client's reader accepts (some,
  /// like sarama's, reject dependent blocks). Appended to `output`.
  public static func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
    output.append(contentsOf: frameHeader)
    appendBlocks(input, to: &output)
    output.append(contentsOf: endMark)
  }

  /// The frame's header as ``compress(_:appendingTo:)`` writes it: magic number, flags
  /// (version 1, independent blocks, nothing optional) and 64 KiB blocks, with its checksum
  /// byte as liblz4 computes it.
  public static let frameHeader: [UInt8] = {
    var preferences = LZ4F_preferences_t()
    preferences.frameInfo.blockSizeID = LZ4F_max64KB
    preferences.frameInfo.blockMode = LZ4F_blockIndependent
    var context: OpaquePointer?
    var header = [UInt8](repeating: 0, count: Int(LZ4F_HEADER_SIZE_MAX))
    guard LZ4F_isError(LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))) == 0,
      let context
    else { preconditionFailure("liblz4 cannot create a compression context") }
    defer { LZ4F_freeCompressionContext(context) }
    let written = header.withUnsafeMutableBytes {
      LZ4F_compressBegin(context, $0.baseAddress, $0.count, &preferences)
    }
    precondition(LZ4F_isError(written) == 0, "liblz4 cannot write a frame header")
    return Array(header.prefix(written))
  }()

  /// What ends a frame: a block size of zero (no content checksum follows).
  public static let endMark: [UInt8] = [0, 0, 0, 0]

  /// `input` as independent blocks of at most 64 KiB, appended to `output` (after a
  /// ``frameHeader`` and blocks written before): since no block refers to another, a frame
  /// can be written a piece at a time — a snapshot reader compresses its events, and the
  /// writer adds the last one with its position — and end with ``endMark``. A block that does
  /// not shrink is stored as it is, as liblz4 does (and so would one liblz4 failed to
  /// compress, which with room for the worst case it does not).
  public static func appendBlocks(_ input: UnsafeRawBufferPointer, to output: inout [UInt8]) {
    guard let source = input.baseAddress, !input.isEmpty else { return }
    // Compressed into scratch space, so only the compressed bytes are copied into `output`
    // (room of the worst case's size there would be zero-filled first).
    let bound = Int(LZ4_compressBound(Int32(blockSize)))
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { scratch in
      var start = 0
      while start < input.count {
        let size = min(blockSize, input.count - start)
        let compressed = LZ4_compress_default(
          source.advanced(by: start).assumingMemoryBound(to: CChar.self),
          UnsafeMutableRawPointer(scratch.baseAddress!).assumingMemoryBound(to: CChar.self),
          Int32(size), Int32(bound))
        if compressed > 0 && Int(compressed) < size {
          appendLittleEndian(UInt32(compressed), to: &output)
          output.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<Int(compressed)]))
        } else {
          // No smaller: the high bit marks a block stored uncompressed.
          appendLittleEndian(UInt32(size) | 0x8000_0000, to: &output)
          output.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<(start + size)]))
        }
        start += size
      }
    }
  }

  /// Largest block, as the header's block size (64 KiB) says.
  static let blockSize = 64 << 10

  private static func appendLittleEndian(_ value: UInt32, to output: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) }
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
