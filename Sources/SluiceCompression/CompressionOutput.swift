extension Array where Element == UInt8 {
  /// Appends a one-shot compressor's output: `body` gets `bound` bytes of room after what the
  /// array holds (the codec's worst case) and returns how many it wrote, and the rest is cut
  /// off. If `body` throws, the array is left as it was.
  mutating func appendCompressed(
    bound: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
  ) throws {
    let start = count
    append(contentsOf: repeatElement(0, count: bound))
    do {
      let written = try withUnsafeMutableBytes {
        try body(UnsafeMutableRawBufferPointer(rebasing: $0[start...]))
      }
      removeLast(bound - written)
    } catch {
      removeLast(bound)
      throw error
    }
  }
}
