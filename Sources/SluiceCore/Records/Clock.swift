import Foundation

/// Milliseconds since the Unix epoch, the unit of record timestamps.
public func currentTimeMillis() -> Int64 {
  Int64((Date().timeIntervalSince1970 * 1000).rounded())
}
