/// A connector's transforms in order (`transforms:` in its file; Kafka Connect's `transforms=`),
/// each with its optional predicate. Sources apply it between the connector and the store,
/// sinks between the store and the connector.
public struct TransformChain: Sendable {
  /// One transform of the chain.
  public struct Step: Sendable {
    /// Its alias (Kafka Connect's `transforms=<alias>,…`), named in errors and DLQ headers.
    public var name: String
    public var transform: any Transform
    public var predicate: (any RecordPredicate)?
    /// Applies the transform where the predicate does not hold.
    public var negate: Bool

    public init(
      name: String, transform: any Transform, predicate: (any RecordPredicate)? = nil,
      negate: Bool = false
    ) {
      self.name = name
      self.transform = transform
      self.predicate = predicate
      self.negate = negate
    }
  }

  /// What the chain did to one record.
  public enum Outcome: Sendable {
    case record(TransformRecord)
    /// A filter dropped it.
    case dropped
    /// Transform `step` could not apply: a record error (DLQ with `errors.tolerance: all`,
    /// else the task fails).
    case failed(step: String, reason: String)
  }

  public var steps: [Step]
  /// Whether the records given to the chain have JSON values (or none): set when a source took
  /// over a first transform that writes JSON (``fused(into:)``), so the steps after it read
  /// the value as the unfused chain would after that transform, without checking it again.
  public internal(set) var valuesAreJSON = false

  public init(_ steps: [Step] = []) { self.steps = steps }

  public var isEmpty: Bool { steps.isEmpty }

  /// The record after every step. It takes the record (`consuming`): the chain changes it in
  /// place instead of copying it first, which on a CDC stream is a copy of every change.
  public func apply(_ record: consuming TransformRecord) -> Outcome {
    var record = record
    if valuesAreJSON, case .bytes(_?) = record.value { record.valueIsJSON = true }
    for step in steps {
      do {
        if let predicate = step.predicate {
          if try predicate.test(&record) == step.negate { continue }
        }
        if try !step.transform.apply(to: &record) { return .dropped }
      } catch {
        return .failed(step: step.name, reason: error.reason)
      }
    }
    return .record(record)
  }
}

/// Header names a record carries to the dead-letter topic when a transform fails on it.
public enum TransformHeaders {
  public static let transform = "sluice.transform"
  public static let reason = "sluice.transform.error"
}
