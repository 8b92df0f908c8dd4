import CoreMetrics
import Synchronization

/// One gauge family whose series are read at scrape time (task states, segment counts, a
/// consumer group's lag): each ``update(_:)`` sets the series it is given and removes the ones
/// the previous update had and this one has not — so a deleted connector, topic or group
/// leaves `/metrics` instead of showing its last value forever.
public final class ScrapedGauges: Sendable {
  /// The family's name (`sluice_…`).
  public let name: String
  /// The label names, in the order of each series' values.
  public let labels: [String]
  private let factory: any MetricsFactory
  private let series = Mutex<[[String]: Gauge]>([:])

  /// `factory` is swift-metrics' bootstrapped one unless a test hands its own.
  public init(_ name: String, labels: [String], factory: any MetricsFactory = MetricsSystem.factory)
  {
    self.name = name
    self.labels = labels
    self.factory = factory
  }

  /// Makes the family exactly `values`: label values (in ``labels``' order) → value.
  public func update(_ values: [[String]: Double]) {
    series.withLock { series in
      for (key, gauge) in series where values[key] == nil {
        gauge.destroy()
        series[key] = nil
      }
      for (key, value) in values {
        let gauge =
          series[key]
          ?? Gauge(label: name, dimensions: Array(zip(labels, key)), factory: factory)
        series[key] = gauge
        gauge.record(value)
      }
    }
  }

  /// Removes every series (the component that read them is gone).
  public func removeAll() { update([:]) }
}
