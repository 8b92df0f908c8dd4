import CoreMetrics

/// `sluice_sink_lag_records{connector,topic,partition}`: per partition a sink task holds, how
/// many records are in the topic and not yet delivered (end offset − next offset to deliver).
///
/// The task sets them when it reports its lag (at most once a second) and removes a
/// partition's series when the group takes the partition away or the task stops, so a revoked
/// partition or a removed connector does not show its last lag forever. Each report asks the
/// registry for the handle again (cheap, once a second): when a partition moves between two
/// tasks of one connector, the old owner's removal may take the series the new owner had just
/// set, and the new owner's next report puts it back.
struct SinkLagGauges {
  let connector: String
  let factory: any MetricsFactory
  private(set) var reported: Set<TopicPartition> = []

  init(connector: String, factory: any MetricsFactory = MetricsSystem.factory) {
    self.connector = connector
    self.factory = factory
  }

  /// Sets the lag of every partition in `lag`, and removes the partitions no longer in it.
  mutating func report(_ lag: [TopicPartition: Int64]) {
    remove(reported.subtracting(lag.keys))
    for (tp, records) in lag {
      gauge(tp).record(records)
      reported.insert(tp)
    }
  }

  /// Removes the series of `partitions` (revoked ones).
  mutating func remove<Partitions: Sequence<TopicPartition>>(_ partitions: Partitions) {
    for tp in partitions where reported.remove(tp) != nil {
      gauge(tp).destroy()
    }
  }

  /// Removes every series this task set (it stops).
  mutating func removeAll() { remove(reported) }

  private func gauge(_ tp: TopicPartition) -> Gauge {
    Gauge(
      label: "sluice_sink_lag_records",
      dimensions: [
        ("connector", connector), ("topic", tp.topic), ("partition", String(tp.partition)),
      ],
      factory: factory)
  }
}
