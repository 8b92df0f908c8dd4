import CoreMetrics
import Synchronization

/// A counter family with one label whose values arrive as they come, such as an HTTP status
/// code (`sluice_webhook_requests_total{connector,status}`): each value's counter is made the
/// first time it is seen, in its ``MetricsScope``, and kept.
public final class CountersByValue: Sendable {
  private let label: String
  private let dimensions: [(String, String)]
  private let name: String
  private let scope: MetricsScope
  private let counters = Mutex<[String: Counter]>([:])

  /// `dimensions` are the fixed labels (`connector`); `name` is the varying one (`status`).
  public init(
    _ label: String, dimensions: [(String, String)], varying name: String, in scope: MetricsScope
  ) {
    self.label = label
    self.dimensions = dimensions
    self.name = name
    self.scope = scope
  }

  /// Adds `amount` to the counter of `value`.
  public func increment(_ value: String, by amount: Int64 = 1) {
    let counter = counters.withLock { all in
      if let known = all[value] { return known }
      let made = scope.counter(label, dimensions + [(name, value)])
      all[value] = made
      return made
    }
    counter.increment(by: amount)
  }
}
