import CoreMetrics
import Metrics
import SluiceKafka
import Synchronization

/// `sluice_kafka_requests_total{api,error_code}` and `sluice_kafka_request_duration_seconds{api}`:
/// each request the Kafka listener answered, by Kafka's name of its API (`Produce`, `Fetch`,
/// `JoinGroup`…) and the error code it was answered with (``ResponseErrorCode``), and how long
/// answering took (a Fetch's long poll included).
///
/// Handles are made the first time an API (or an API with an error code) is seen and kept, so
/// `/metrics` lists only the APIs clients used.
final class KafkaRequestMetrics: Sendable {
  private struct APIHandles {
    let duration: Metrics.Timer
    var requests: [Int16: Counter] = [:]
  }

  private let apis = Mutex<[ApiKey: APIHandles]>([:])
  private let factory: any MetricsFactory

  init(factory: any MetricsFactory = MetricsSystem.factory) {
    self.factory = factory
  }

  /// Kafka's name of an API: `ApiVersions` for `.apiVersions`.
  static func name(of key: ApiKey) -> String {
    let text = "\(key)"
    return text.prefix(1).uppercased() + text.dropFirst()
  }

  /// Counts one answered request.
  func record(_ key: ApiKey, errorCode: Int16, duration: Duration) {
    let (timer, counter) = apis.withLock { apis in
      let api = Self.name(of: key)
      var handles =
        apis[key]
        ?? APIHandles(
          duration: Metrics.Timer(
            label: "sluice_kafka_request_duration_seconds", dimensions: [("api", api)],
            factory: factory))
      let counter =
        handles.requests[errorCode]
        ?? Counter(
          label: "sluice_kafka_requests_total",
          dimensions: [("api", api), ("error_code", String(errorCode))], factory: factory)
      handles.requests[errorCode] = counter
      apis[key] = handles
      return (handles.duration, counter)
    }
    counter.increment()
    timer.record(duration: duration)
  }
}
