import CoreMetrics
import SluiceCore

/// The HTTP sink's Prometheus series while a task runs: `sluice_http_sink_requests_total
/// {connector,status}` (each attempt's answer: the HTTP status, or `error` when none came — a
/// refused connection, a timeout) and `sluice_http_sink_request_duration_seconds{connector}`
/// (curl's total time of the attempt). Tasks of one connector share the series.
final class HTTPSinkRequestMetrics: Sendable {
  private let scope = MetricsScope()
  private let requests: CountersByValue
  private let duration: Timer

  init(connector: String) {
    let labels = [("connector", connector)]
    requests = CountersByValue(
      "sluice_http_sink_requests_total", dimensions: labels, varying: "status", in: scope)
    duration = scope.timer("sluice_http_sink_request_duration_seconds", labels)
  }

  func answered(_ response: CurlResponse) {
    requests.increment(response.transportError == nil ? String(response.status) : "error")
    let (seconds, attoseconds) = response.latency.components
    duration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
  }

  /// Removes the series no other task of the connector holds: this task stopped.
  func release() { scope.release() }
}
