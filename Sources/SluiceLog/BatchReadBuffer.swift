/// Memory that stored batches are read into (``EmbeddedLog/readBatches(topic:partition:from:maxBytes:into:)``):
/// a byte array, or the buffer a network listener sends, so that a Kafka fetch copies the
/// batches once, from the file to where they leave the process.
public protocol BatchReadBuffer {
  /// Lets `read` fill up to `count` bytes of new room at the end, and keeps the first n bytes
  /// it returns (the rest is discarded).
  mutating func appendBytes(
    upTo count: Int, _ read: (UnsafeMutableRawBufferPointer) throws -> Int) throws
}

extension Array: BatchReadBuffer where Element == UInt8 {
  /// An array cannot grow uninitialised: the bytes are read into a new array, which becomes
  /// this one if it was empty (a fetch's usual case) and is appended otherwise.
  public mutating func appendBytes(
    upTo count: Int, _ read: (UnsafeMutableRawBufferPointer) throws -> Int
  ) throws {
    let bytes = try [UInt8](unsafeUninitializedCapacity: count) { raw, initialized in
      initialized = try read(UnsafeMutableRawBufferPointer(raw))
    }
    if isEmpty { self = bytes } else { append(contentsOf: bytes) }
  }
}
