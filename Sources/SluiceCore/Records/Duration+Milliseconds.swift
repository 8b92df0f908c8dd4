/// Conversions at the edges where a `Duration` meets a millisecond field (Kafka protocol
/// fields, record timestamps from ``currentTimeMillis()``, YAML `_ms` keys) or an API that
/// takes seconds as a `Double` (`Thread.sleep`, `poll`-style waits).
extension Duration {
  /// Whole milliseconds, rounded toward zero and clamped to `Int64`.
  public var inMilliseconds: Int64 {
    let (seconds, attoseconds) = components
    let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
    if overflow { return seconds < 0 ? .min : .max }
    return whole.addingReportingOverflow(attoseconds / 1_000_000_000_000_000).overflow
      ? .max : whole + attoseconds / 1_000_000_000_000_000
  }

  /// Seconds as a `Double`, for APIs that take a `TimeInterval`.
  public var inSeconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) / 1e18
  }
}
