/// `dashboard:` in worker.yaml: how the dashboard's charts are fed.
///
/// ```yaml
/// dashboard: { sample_interval_ms: 10s }
/// ```
///
/// The worker reads its own metrics every `sample_interval_ms` and keeps 15 minutes of them in
/// memory (``MetricsHistory``); a shorter interval draws finer charts for more memory (one
/// sample per series per interval).
public struct DashboardConfig: Sendable, Equatable {
  /// `sample_interval_ms`: the time between samples, 100 ms to 60 s (default 10 s).
  public var sampleInterval: Duration = .seconds(10)

  public static let sampleIntervalRange: ClosedRange<Duration> = .milliseconds(100)...(.seconds(60))

  public init() {}

  init(_ node: ConfigNode) throws(ConfigError) {
    let m = try node.mapping(allowedKeys: ["sample_interval_ms"])
    guard let interval = m.node("sample_interval_ms") else { return }
    let duration = try interval.duration()
    // Below 100 ms the sampler would spend its time reading the exposition; above a minute
    // the 15-minute charts would have too few points to show a trend.
    guard Self.sampleIntervalRange.contains(duration) else {
      throw interval.error("expected a duration from 100ms to 60s, got \(interval.kindDescription)")
    }
    sampleInterval = duration
  }
}
