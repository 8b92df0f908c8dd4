/// Where the worker keeps how far each connector has got: a source's committed position and a
/// sink's next offsets (for sinks that do not keep them downstream themselves).
///
/// A commit is written only after the records it covers are durable, so a crash can make the
/// stored value older than the truth but never newer (DESIGN.md §3).
public protocol OffsetStore: Sendable {
  func sourcePosition(connector: String) async throws -> SourcePosition?
  func commitSourcePosition(_ position: SourcePosition, connector: String) async throws
  func sinkOffsets(connector: String) async throws -> [TopicPartition: Int64]
  func commitSinkOffsets(_ offsets: [TopicPartition: Int64], connector: String) async throws
  /// Forgets a connector (its file was removed).
  func remove(connector: String) async throws
  /// Forgets a source's committed position and nothing else (KIP-875 `DELETE …/offsets`).
  func clearSourcePosition(connector: String) async throws
}

extension OffsetStore {
  public func clearSourcePosition(connector: String) async throws {
    throw OffsetStoreError(message: "this offset store cannot forget a source position")
  }
}
