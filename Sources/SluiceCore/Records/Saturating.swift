extension Int64 {
  /// `self - other`, clamped to `Int64`'s range instead of trapping: for ages and distances
  /// between values that come from outside (stored timestamps, clocks, headers), where an
  /// overflow only means "very far apart".
  public func saturatingMinus(_ other: Int64) -> Int64 {
    let (difference, overflow) = subtractingReportingOverflow(other)
    guard overflow else { return difference }
    return other < 0 ? .max : .min
  }
}
