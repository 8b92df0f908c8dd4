/// A source connector that can do the first transform of its chain itself, while it renders its
/// records, instead of rendering them one way for the chain to rewrite them another.
///
/// Why: the commonest chain of a CDC pipeline starts with Debezium's `unwrap`, which takes the
/// envelope the connector has just written apart again to keep its `after` row. A connector that
/// writes the row directly saves the envelope, the pass that finds its members and the copy of
/// the row (issue 17's benchmark: most of the chain's cost per change).
///
/// The contract: the fused connector's records are byte for byte (topic, key, value, headers)
/// what the unfused connector's records would be after the transform, in the same order and at
/// the same positions; records the transform would drop are not sent (their positions are
/// still passed, so what is confirmed upstream does not change). A connector offers fusion only
/// for the options it renders exactly, and answers nil for anything else: the chain then
/// applies the transform as usual.
public protocol TransformFusingSource: SourceConnector {
  /// This connector with `transform` done by its tasks as they render records, or nil when it
  /// cannot render every record exactly as the transform would.
  func fusing(_ transform: any Transform) -> (any SourceConnector)?
}

extension TransformChain {
  /// The connector that makes the records and the chain that is left for the runtime: the
  /// source takes over the first step when it can (``TransformFusingSource``), else both are
  /// as given. A step with a predicate is never fused: the predicate decides per record.
  public func fused(into source: any SourceConnector) -> (
    source: any SourceConnector, chain: TransformChain
  ) {
    guard let first = steps.first, first.predicate == nil,
      let fusing = source as? any TransformFusingSource,
      let fused = fusing.fusing(first.transform)
    else { return (source, self) }
    var rest = TransformChain(Array(steps.dropFirst()))
    // `unwrap` writes JSON rows or no value; the source renders what it would.
    rest.valuesAreJSON = first.transform is ExtractNewRecordState
    return (fused, rest)
  }
}
