import CoreMetrics

/// A connector's HTTP requests as Prometheus series while a task runs:
/// `<prefix>_requests_total{connector,status}` (by answer: an HTTP status, or a word such as
/// `error` when none came) and `<prefix>_request_duration_seconds{connector}`. The webhook
/// source counts the requests it answers, the HTTP sink those it sends; tasks of one connector
/// share the series, which go when the last of them releases them.
public final class RequestMetrics: Sendable {
  private let scope = MetricsScope()
  private let requests: CountersByValue
  private let duration: Timer

  /// `prefix` is the family's start, `sluice_webhook` or `sluice_http_sink`.
  public init(prefix: String, connector: String) {
    let labels = [("connector", connector)]
    requests = CountersByValue(
      prefix + "_requests_total", dimensions: labels, varying: "status", in: scope)
    duration = scope.timer(prefix + "_request_duration_seconds", labels)
  }

  /// One request answered `status` after `elapsed`.
  public func answered(_ status: String, after elapsed: Duration) {
    requests.increment(status)
    duration.record(duration: elapsed)
  }

  /// Lets go of the series: this task stopped.
  public func release() { scope.release() }
}
