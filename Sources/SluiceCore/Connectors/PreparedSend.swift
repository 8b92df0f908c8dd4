/// A source's batch after its transforms (``SourceTaskContext/prepare(_:)``), waiting to be
/// written: the records to write, where each came from in the batch, and the metadata of the
/// records a filter dropped.
public struct PreparedSend: Sendable {
  /// A `var`: the send moves each record's key, value and headers out of it into the records
  /// it writes (``SourceWriter``), rather than copying them.
  var records: [SourceRecord]
  /// The index in the batch of each of `records`.
  let kept: [Int]
  /// Per record of the batch: filled for the dropped ones, the rest when written.
  let results: [RecordMetadata?]
  /// The batch's last position, committed with it (records a filter dropped included).
  let lastPosition: SourcePosition?
  /// What the transforms dropped and dead-lettered, counted once the send is written.
  var outcome = TransformOutcome()
}

/// What a source's transforms did to one send, counted in the metrics once it is written.
struct TransformOutcome: Sendable {
  var dropped = 0
  /// Records a transform failed on, sent to the dead-letter topic (each one an error).
  var deadLettered = 0
}
