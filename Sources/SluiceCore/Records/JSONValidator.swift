/// Checks that bytes are exactly one JSON value (RFC 8259), without building it.
///
/// Record rendering asks this for every key and value (DESIGN.md §5: "key and value appear as JSON
/// when they are valid JSON"), so it scans in place instead of decoding through Foundation.
public enum JSONValidator {
  public static func isValid(_ bytes: [UInt8]) -> Bool {
    errorOffset(bytes) == nil
  }

  /// The byte offset where `bytes` stop being valid JSON, or nil when they are one JSON value.
  public static func errorOffset(_ bytes: [UInt8]) -> Int? {
    bytes.withUnsafeBufferPointer { buffer in
      var scanner = JSONScanner(bytes: buffer)
      scanner.skipWhitespace()
      guard scanner.value(depth: 0) else { return min(scanner.index, buffer.count) }
      scanner.skipWhitespace()
      return scanner.index == buffer.count ? nil : scanner.index
    }
  }
}
