import Foundation
import SluiceCore

/// Counters the HTTP sink shows under `details` in its task status: requests, retries,
/// dead-lettered records, requests in flight, the HTTP version spoken, and latency percentiles
/// of recent requests.
struct HTTPSinkMetrics {
  var requests = 0
  var retries = 0
  var failures = 0
  var deadLettered = 0
  var inFlight = 0
  var lastStatus = 0
  var httpVersion = ""
  private var latenciesMs: [Double] = []
  private var nextLatency = 0
  private var lastPublished = ContinuousClock.now

  mutating func answered(_ response: CurlResponse, outcome: HTTPOutcome) {
    requests += 1
    lastStatus = response.status
    if !response.httpVersion.isEmpty { httpVersion = response.httpVersion }
    switch outcome {
    case .delivered: break
    case .retry: retries += 1
    case .rejected: failures += 1
    }
    let (seconds, attos) = response.latency.components
    let ms = Double(seconds) * 1000 + Double(attos) / 1e15
    // The last 512 requests are enough for percentiles that follow the receiver's mood.
    if latenciesMs.count < 512 {
      latenciesMs.append(ms)
    } else {
      latenciesMs[nextLatency] = ms
      nextLatency = (nextLatency + 1) % 512
    }
  }

  /// The details, at most once a second, so a fast sink does not spend its time on status.
  mutating func detailsIfDue() -> [(String, String)]? {
    let now = ContinuousClock.now
    guard now - lastPublished >= .seconds(1) else { return nil }
    lastPublished = now
    return details()
  }

  func details() -> [(String, String)] {
    let sorted = latenciesMs.sorted()
    func percentile(_ p: Double) -> String {
      guard !sorted.isEmpty else { return "0" }
      let value = sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
      return String(format: "%.2f", value)
    }
    return [
      ("requests", String(requests)), ("retries", String(retries)),
      ("rejected", String(failures)), ("dead_lettered", String(deadLettered)),
      ("in_flight", String(inFlight)), ("last_status", String(lastStatus)),
      ("http_version", httpVersion),
      ("latency_ms_p50", percentile(0.5)), ("latency_ms_p99", percentile(0.99)),
    ]
  }
}
