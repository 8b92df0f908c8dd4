/// One single message transform (Kafka Connect's `Transformation`): changes a record, or drops
/// it (a filter). Built once per connector from its validated options; applied to every record,
/// so it holds no per-record state and never blocks.
public protocol Transform: Sendable {
  /// Changes `record` in place; returns false to drop it. Throws when it cannot apply to this
  /// record (a missing field it needs, a value of the wrong type): a record error.
  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool
}

/// A condition on a record that decides whether a transform applies (Kafka Connect's
/// `Predicate`: TopicNameMatches, HasHeaderKey, RecordIsTombstone).
public protocol RecordPredicate: Sendable {
  func test(_ record: inout TransformRecord) throws(TransformError) -> Bool
}

/// Why a transform could not apply to a record; the chain adds which transform it was.
public struct TransformError: Error, CustomStringConvertible, Sendable {
  public var reason: String

  public init(_ reason: String) { self.reason = reason }

  public var description: String { reason }
}
