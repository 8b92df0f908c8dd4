/// A write queued in order and not yet durable: what a store, a source session and a source
/// task's context return when asked to start one (``TopicStore/submit(encoded:to:)``,
/// ``SourceSession/start(encoded:committing:)``, ``SourceTaskContext/start(encoded:committing:)``),
/// so that a source with one writer (the snapshot) queues its next batch while the last one is
/// being synced, instead of leaving the log idle while it prepares each.
///
/// ``value()`` waits for durability and gives the write's result; waited for at most once. A
/// store without queued writes does the whole write at the start and returns ``done(_:)``.
public struct PendingWrite<Value: Sendable>: Sendable {
  private let wait: @Sendable () async throws -> Value

  public init(_ wait: @escaping @Sendable () async throws -> Value) { self.wait = wait }

  /// A write already durable, with its result.
  public static func done(_ value: Value) -> PendingWrite { PendingWrite { value } }

  /// The write's result, once it is durable; what failed it otherwise.
  public func value() async throws -> Value { try await wait() }
}
