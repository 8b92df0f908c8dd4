import Foundation

// What Segment.swift uses from Sources/SluiceLog/GroupCommitter.swift (not compiled in: it
// starts writer threads).
func currentMillis() -> Int64 {
  Int64((Date().timeIntervalSince1970 * 1000).rounded())
}
