import CoreMetrics

/// The records and bytes one task moves, as `sluice_{source,sink}_records_total` and
/// `sluice_{source,sink}_bytes_total{connector,task}`: what a source wrote to topics (after its
/// transforms), what a sink delivered. Counted per batch, not per record.
struct TaskMetrics: Sendable {
  let records: Counter
  let bytes: Counter

  init(kind: ConnectorPlugin.Kind, connector: String, task: Int) {
    let dimensions = [("connector", connector), ("task", String(task))]
    let prefix = kind == .source ? "sluice_source" : "sluice_sink"
    records = Counter(label: prefix + "_records_total", dimensions: dimensions)
    bytes = Counter(label: prefix + "_bytes_total", dimensions: dimensions)
  }

  /// Counts a batch that reached its destination.
  func count<Batch: Collection>(_ batch: Batch, bytes: (Batch.Element) -> Int) {
    guard !batch.isEmpty else { return }
    records.increment(by: Int64(batch.count))
    self.bytes.increment(by: Int64(batch.reduce(0) { $0 + bytes($1) }))
  }
}
