import CoreMetrics
import SluiceCore

/// A webhook's Prometheus series while its task runs: `sluice_webhook_requests_total{connector,
/// status}` (every answer the endpoint gave, by HTTP status) and
/// `sluice_webhook_request_duration_seconds{connector}` (receipt to answer, the durable write
/// included).
final class WebhookMetrics: Sendable {
  private let scope = MetricsScope()
  private let requests: CountersByValue
  private let duration: Timer

  init(connector: String) {
    let labels = [("connector", connector)]
    requests = CountersByValue(
      "sluice_webhook_requests_total", dimensions: labels, varying: "status", in: scope)
    duration = scope.timer("sluice_webhook_request_duration_seconds", labels)
  }

  func answered(status: Int, after elapsed: Duration) {
    requests.increment(String(status))
    let (seconds, attoseconds) = elapsed.components
    duration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
  }

  /// Removes the series: the task stopped.
  func release() { scope.release() }
}
