import Foundation
import SluiceCore

/// Registers `source: postgres-cdc`.
public enum PostgresCDCConnectors {
  public static func register(in registry: inout ConnectorRegistry) {
    registry.register(
      .source("postgres-cdc", definitions: CDCConfig.definitions) {
        try PostgresCDCConnector(definition: $0)
      })
    registry.register(DebeziumPostgresConfig.plugin)
  }
}

/// A validated `source: postgres-cdc` connector.
struct PostgresCDCConnector: TransformFusingSource {
  let config: CDCConfig
  /// The chain's `unwrap`, when the connector renders what it makes (``FusedUnwrap``).
  private(set) var unwrap: FusedUnwrap?

  init(definition: ConnectorDefinition) throws {
    config = try CDCConfig(definition: definition)
  }

  /// One: a slot has one reader (Debezium's PostgreSQL connector also runs a single task).
  func taskCount(maxTasks: Int) -> Int { 1 }

  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
    CDCSourceTask(config: config, unwrap: unwrap, context: context)
  }

  /// Takes over a chain's leading `unwrap` (Debezium's ExtractNewRecordState), the commonest
  /// first transform of a CDC pipeline: events are then rendered as rows, not as envelopes
  /// to be taken apart again.
  func fusing(_ transform: any Transform) -> (any SourceConnector)? {
    // With schemas the transform rewrites the row's schema as well: left to the chain, where
    // it cuts the row out of the event's bytes and takes the row's schema from what it worked
    // out once per envelope schema (ExtractNewRecordState+SchemaBytes).
    guard !config.conversion.schemas, let unwrap = FusedUnwrap(transform) else { return nil }
    var fused = self
    fused.unwrap = unwrap
    return fused
  }

  /// With `drop_slot_on_delete: true`, drops the slot (it would otherwise pin WAL forever).
  /// The task has stopped by now, but its walsender may take a moment to let go of the slot.
  func removed() async {
    guard config.dropSlotOnDelete else { return }
    let control = ControlConnection(config: config)
    let slot = config.slot
    for _ in 0..<50 {
      do {
        try await control.run { connection in
          _ = try connection.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
            [slot])
        }
        break
      } catch {
        try? await Task.sleep(for: .milliseconds(200))
      }
    }
    await control.close()
  }
}
