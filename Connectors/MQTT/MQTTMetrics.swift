import CoreMetrics
import SluiceCore

/// An MQTT task's Prometheus series while it runs, labelled `connector` and `task`:
/// `sluice_mqtt_connected` (1 while connected to the broker), `sluice_mqtt_messages_total`
/// (messages the broker delivered and the task handled: written, dead-lettered or dropped) and
/// `sluice_mqtt_redeliveries_skipped_total` (redeliveries of messages already durable). Counted
/// per batch the network loop hands over.
final class MQTTMetrics: Sendable {
  private let scope = MetricsScope()
  private let connected: Gauge
  private let messages: Counter
  private let redeliveriesSkipped: Counter

  init(connector: String, task: Int) {
    let labels = [("connector", connector), ("task", String(task))]
    connected = scope.gauge("sluice_mqtt_connected", labels)
    messages = scope.counter("sluice_mqtt_messages_total", labels)
    redeliveriesSkipped = scope.counter("sluice_mqtt_redeliveries_skipped_total", labels)
    connected.record(0)
  }

  func connection(up: Bool) { connected.record(up ? 1 : 0) }

  func delivered(messages handled: Int, redeliveriesSkipped skipped: Int) {
    if handled > 0 { messages.increment(by: Int64(handled)) }
    if skipped > 0 { redeliveriesSkipped.increment(by: Int64(skipped)) }
  }

  /// Removes the series: the task stopped.
  func release() { scope.release() }
}
