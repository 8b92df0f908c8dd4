/// What a stretch of the change stream held, counted by ``ChangeStream`` as it decodes (an
/// integer add per event) and handed to ``CDCMetrics`` once per chunk, when the chunk's records
/// are durable.
struct ChangeTally: Equatable {
  var creates = 0
  var updates = 0
  var deletes = 0
  var truncates = 0
  /// Transactions with at least one captured change (heartbeats are not counted).
  var transactions = 0
  /// The commit time of the last transaction that ended here, heartbeats included (so the
  /// time behind the source stays current on an idle database).
  var lastCommitMilliseconds: Int64?
}
