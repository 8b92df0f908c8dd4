import CSnappy

/// Snappy as Kafka's codec 2. Kafka's producers write the framing of xerial's snappy-java
/// `SnappyOutputStream`, not Snappy's own framing format:
///
/// ```
/// 0x82 "SNAPPY" 0x00 | version i32 (1) | minimum compatible version i32 (1)
/// | (compressed length i32 | raw Snappy block)…      (big-endian; each block ≤ 32 KiB raw)
/// ```
/// `compress` writes that; `decompress` reads it and, like librdkafka, a bare raw block too.
public enum Snappy {
  static let name = "snappy"
  static let magic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
  static let headerSize = 16
  /// snappy-java's default block size: Java consumers size their buffers by it.
  static let blockSize = 32 * 1024

  /// `input` in xerial framing, one raw Snappy block per 32 KiB, appended to `output`.
  public static func compress(
    _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]
  ) throws {
    let streamStart = output.count
    output.reserveCapacity(
      streamStart + headerSize + (input.count / blockSize + 1)
        * (4 + snappy_max_compressed_length(blockSize)))
    output.append(contentsOf: magic)
    appendBigEndian(1, to: &output)  // version
    appendBigEndian(1, to: &output)  // minimum compatible version
    var start = 0
    while start < input.count {
      let block = UnsafeRawBufferPointer(
        rebasing: input[start..<min(start + blockSize, input.count)])
      let lengthAt = output.count
      appendBigEndian(0, to: &output)
      var length = snappy_max_compressed_length(block.count)
      output.append(contentsOf: repeatElement(0, count: length))
      let status = output.withUnsafeMutableBytes { out in
        snappy_compress(
          block.baseAddress?.assumingMemoryBound(to: CChar.self), block.count,
          out.baseAddress!.advanced(by: lengthAt + 4).assumingMemoryBound(to: CChar.self), &length)
      }
      guard status == SNAPPY_OK else {
        output.removeLast(output.count - streamStart)
        throw CompressionError.failed(
          codec: name, reason: "snappy_compress status \(status.rawValue)")
      }
      output.removeLast(output.count - (lengthAt + 4 + length))
      output.withUnsafeMutableBytes {
        $0.storeBytes(of: UInt32(length).bigEndian, toByteOffset: lengthAt, as: UInt32.self)
      }
      start += block.count
    }
  }

  /// The bytes of a xerial-framed stream or of one raw Snappy block, at most `limit` of them.
  public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws -> [UInt8] {
    guard input.count >= headerSize, input.prefix(magic.count).elementsEqual(magic) else {
      var output: [UInt8] = []
      try appendRaw(input, to: &output, limit: limit)
      return output
    }
    var output: [UInt8] = []
    var position = headerSize
    while position < input.count {
      guard input.count - position >= 4 else {
        throw CompressionError.corrupt(codec: name, reason: "a block length is cut short")
      }
      let length = Int(
        UInt32(bigEndian: input.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
      position += 4
      guard length <= input.count - position else {
        throw CompressionError.corrupt(
          codec: name, reason: "a block of \(length) bytes runs past the end of the data")
      }
      try appendRaw(
        UnsafeRawBufferPointer(rebasing: input[position..<(position + length)]), to: &output,
        limit: limit)
      position += length
    }
    return output
  }

  /// Decodes one raw block onto `output`. Snappy states a block's length up front, so the
  /// limit is checked before anything is allocated.
  private static func appendRaw(
    _ block: UnsafeRawBufferPointer, to output: inout [UInt8], limit: Int
  ) throws {
    let compressed = block.baseAddress?.assumingMemoryBound(to: CChar.self)
    var length = 0
    guard snappy_uncompressed_length(compressed, block.count, &length) == SNAPPY_OK else {
      throw CompressionError.corrupt(codec: name, reason: "not a Snappy block (bad length header)")
    }
    guard length <= limit - output.count else {
      throw CompressionError.limitExceeded(codec: name, limit: limit)
    }
    let start = output.count
    output.append(contentsOf: [UInt8](repeating: 0, count: length))
    let status = output.withUnsafeMutableBytes { out in
      snappy_uncompress(
        compressed, block.count,
        out.baseAddress?.advanced(by: start).assumingMemoryBound(to: CChar.self),
        &length)
    }
    guard status == SNAPPY_OK else {
      throw CompressionError.corrupt(codec: name, reason: "the Snappy block does not decode")
    }
  }

  private static func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
  }
}
