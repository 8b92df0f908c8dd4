import CoreMetrics
import Metrics

/// One task's metrics, labelled `{connector,task}`: what it moved (`sluice_{source,sink}_records_total`
/// and `_bytes_total`, after a source's transforms, as a sink delivered), batch sizes and
/// durations, errors, retries, dead-lettered and dropped records, offset commits.
///
/// Made once per task run and kept; every figure is recorded per batch, never per record. The
/// registry hands out one handle per name and labels, so a restarted task counts on where the
/// previous run stopped; ``remove(kind:connector:tasks:)`` takes a removed connector's series
/// out of `/metrics`.
struct TaskMetrics: Sendable {
  let records: Counter
  let bytes: Counter
  /// `sluice_{source,sink}_batch_records`: records per send (source) or per put (sink).
  let batchRecords: Recorder
  /// `sluice_source_write_duration_seconds` (the store write and position commit of a send) or
  /// `sluice_sink_put_duration_seconds` (one `put`, failed ones included).
  let delivery: Timer
  /// `sluice_sink_poll_duration_seconds`: one poll of the task's consumer (sinks only).
  let poll: Timer?
  /// `sluice_task_errors_total`: failed deliveries, records a sink or a transform refused, task
  /// failures.
  let errors: Counter
  /// `sluice_task_retries_total`: deliveries tried again, tasks restarted after a failure.
  let retries: Counter
  /// `sluice_dlq_records_total`: records written to the dead-letter topic.
  let deadLettered: Counter
  /// `sluice_transform_dropped_records_total`: records a transform filtered out.
  let dropped: Counter
  /// `sluice_offset_commits_total` and `sluice_offset_commit_duration_seconds`.
  let offsetCommits: Counter
  let offsetCommitDuration: Timer

  init(
    kind: ConnectorPlugin.Kind, connector: String, task: Int,
    factory: any MetricsFactory = MetricsSystem.factory
  ) {
    let dimensions = [("connector", connector), ("task", String(task))]
    func counter(_ name: String) -> Counter {
      Counter(label: name, dimensions: dimensions, factory: factory)
    }
    func timer(_ name: String) -> Timer {
      Timer(label: name, dimensions: dimensions, factory: factory)
    }
    let prefix = kind == .source ? "sluice_source" : "sluice_sink"
    records = counter(prefix + "_records_total")
    bytes = counter(prefix + "_bytes_total")
    batchRecords = Recorder(
      label: prefix + "_batch_records", dimensions: dimensions, factory: factory)
    delivery = timer(
      kind == .source ? "sluice_source_write_duration_seconds" : "sluice_sink_put_duration_seconds")
    poll = kind == .sink ? timer("sluice_sink_poll_duration_seconds") : nil
    errors = counter("sluice_task_errors_total")
    retries = counter("sluice_task_retries_total")
    deadLettered = counter("sluice_dlq_records_total")
    dropped = counter("sluice_transform_dropped_records_total")
    offsetCommits = counter("sluice_offset_commits_total")
    offsetCommitDuration = timer("sluice_offset_commit_duration_seconds")
  }

  /// Counts a batch that reached its destination, and its size.
  func count<Batch: Collection>(_ batch: Batch, bytes: (Batch.Element) -> Int) {
    count(records: batch.count, bytes: batch.reduce(0) { $0 + bytes($1) })
  }

  /// Counts a batch of `records` records of `bytes` key and value bytes.
  func count(records count: Int, bytes: Int) {
    guard count > 0 else { return }
    records.increment(by: Int64(count))
    self.bytes.increment(by: Int64(bytes))
    batchRecords.record(count)
  }

  /// Counts an offset commit that took `duration`.
  func committedOffsets(in duration: Duration) {
    offsetCommits.increment()
    offsetCommitDuration.record(duration: duration)
  }

  /// Every series of this task, for ``remove(kind:connector:tasks:)``.
  private func destroy() {
    for counter in [records, bytes, errors, retries, deadLettered, dropped, offsetCommits] {
      counter.destroy()
    }
    batchRecords.destroy()
    delivery.destroy()
    poll?.destroy()
    offsetCommitDuration.destroy()
  }

  /// Takes a removed connector's task series out of `/metrics`. The registry answers a name and
  /// labels it knows with the handle it gave before, so these are the tasks' own handles.
  static func remove(
    kind: ConnectorPlugin.Kind, connector: String, tasks: Int,
    factory: any MetricsFactory = MetricsSystem.factory
  ) {
    for task in 0..<tasks {
      TaskMetrics(kind: kind, connector: connector, task: task, factory: factory).destroy()
    }
  }
}
