/// The growing output of a streaming decompressor, never larger than `limit + 1` bytes: the
/// one byte past the limit is how a decoder shows there is more, which is then an error.
struct DecompressionOutput {
  private var bytes: [UInt8] = []
  private(set) var count = 0
  let limit: Int
  let codec: String
  /// `limit + 1`, or `Int.max` for no limit to speak of (`limit: .max` must not overflow).
  private let capacity: Int

  init(codec: String, limit: Int, expected: Int) {
    self.codec = codec
    self.limit = max(0, limit)
    capacity = self.limit < Int.max ? self.limit + 1 : Int.max
    // Kafka batches compress 2–10× in practice: start near there, grow by doubling.
    bytes = [UInt8](repeating: 0, count: min(capacity, max(expected, 4096)))
  }

  /// Hands `body` the free space (growing it first when full) and keeps the bytes it says it
  /// wrote. Throws ``CompressionError/limitExceeded(codec:limit:)`` once output passes the limit.
  mutating func write(_ body: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
    try checkLimit()
    if count == bytes.count {
      let grown = min(capacity, max(bytes.count * 2, 4096))
      bytes.append(contentsOf: [UInt8](repeating: 0, count: grown - bytes.count))
    }
    let written = try bytes.withUnsafeMutableBytes { raw in
      try body(UnsafeMutableRawBufferPointer(rebasing: raw[count...]))
    }
    count += written
    try checkLimit()
  }

  /// True when the last `write` filled all the space it was given.
  var isFull: Bool { count == bytes.count }

  private func checkLimit() throws {
    if count > limit { throw CompressionError.limitExceeded(codec: codec, limit: limit) }
  }

  consuming func finish() -> [UInt8] {
    bytes.removeLast(bytes.count - count)
    return bytes
  }
}
