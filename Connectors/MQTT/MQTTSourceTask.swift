import Foundation
import SluiceCore

/// Subscribes to an MQTT broker and writes every message durably to its topic before the
/// broker gets its PUBACK (DESIGN.md §3, "MQTT → topic"; README, "MQTT source").
final class MQTTSourceTask: SourceTask {
  let config: MQTTConfig
  let context: any SourceTaskContext

  init(config: MQTTConfig, context: any SourceTaskContext) {
    self.config = config
    self.context = context
  }

  func run() async throws {
    var filter = RedeliveryFilter(window: config.maxInflight)
    let written = try await context.recentlyWritten(maxAge: nil, maxCount: config.maxInflight)
    for problem in written.unreadable {
      context.logger.warning("redelivery window skipped a partition it cannot read: \(problem)")
    }
    filter.rebuild(from: written.records)
    let metrics = MQTTMetrics(connector: config.name, task: context.taskIndex)
    defer { metrics.release() }
    let delivery = MQTTDelivery(
      config: config, context: context, filter: filter, metrics: metrics)
    let context = self.context
    context.setDetail("broker", "\(config.host):\(config.port)")
    context.setDetail("client_id", config.clientID)
    let loop = MQTTNetworkLoop(config: config, logger: context.logger) { state in
      switch state {
      case .connected(let resumed):
        metrics.connection(up: true)
        context.setDetail("connected", "true")
        context.setDetail("session", resumed ? "resumed" : "new")
        context.setDetail("last_error", nil)
      case .disconnected(let reason):
        metrics.connection(up: false)
        context.setDetail("connected", "false")
        context.setDetail("last_error", reason)
      case .idle, .connecting:
        metrics.connection(up: false)
        context.setDetail("connected", "false")
      }
    }
    let name = config.name
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation {
        (finished: CheckedContinuation<Void, any Error>) in
        // The network loop blocks (poll, and waiting for durability), so it gets a thread of
        // its own rather than one of the cooperative pool's.
        let thread = Thread {
          do {
            try loop.run(connected: { delivery.connected() }, deliver: { try delivery.deliver($0) })
            finished.resume()
          } catch {
            finished.resume(throwing: error)
          }
        }
        thread.name = "mqtt-\(name)"
        thread.start()
      }
    } onCancel: {
      loop.stop()
    }
  }
}

/// A validated `source: mqtt` connector.
///
/// Offsets (KIP-875): it commits no source position — where it resumes is the broker's
/// persistent session (clean session off), which redelivers what was not acknowledged — so
/// `GET …/offsets` is empty, and a PATCH in the default shape is stored but read by nothing.
struct MQTTSourceConnector: SourceConnector {
  let config: MQTTConfig

  init(definition: ConnectorDefinition) throws {
    config = try MQTTConfig(definition: definition)
  }

  /// One: a client id is one session on the broker; a second task would take it over.
  func taskCount(maxTasks: Int) -> Int { 1 }

  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
    MQTTSourceTask(config: config, context: context)
  }
}

/// Registers `source: mqtt`.
public enum MQTTConnectors {
  public static func register(in registry: inout ConnectorRegistry) {
    registry.register(
      .source(
        "mqtt", definitions: MQTTConfig.definitions,
        converters: [ConnectCommonKeys.jsonConverter, ConnectCommonKeys.stringConverter]
      ) { try MQTTSourceConnector(definition: $0) })
  }
}
