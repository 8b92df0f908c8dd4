import SluiceCore

/// The metric families the dashboard charts, as the worker's components name them in
/// `GET /metrics`. A family no component records yet has no series: its chart stays empty.
public enum DashboardMetrics {
  public static let sourceRecords = "sluice_source_records_total"
  public static let sinkRecords = "sluice_sink_records_total"
  public static let deadLetterRecords = "sluice_dlq_records_total"
  public static let sinkLag = "sluice_sink_lag_records"
  public static let slotRetainedWAL = "sluice_cdc_replication_slot_retained_wal_bytes"
  public static let snapshotRemainingTables = "sluice_cdc_snapshot_remaining_tables"
  public static let snapshotRows = "sluice_cdc_snapshot_rows_total"

  /// What ``MetricsHistory`` keeps for the dashboard.
  public static let families: [MetricsHistory.Family] = [
    .init(sourceRecords, .counter), .init(sinkRecords, .counter),
    .init(deadLetterRecords, .counter), .init(sinkLag, .gauge), .init(slotRetainedWAL, .gauge),
    .init(snapshotRemainingTables, .gauge), .init(snapshotRows, .counter),
  ]

  /// The point-by-point sum of several series' chart points (a connector's tasks, a sink's
  /// partitions). Their samples share timestamps, as one scrape takes them all.
  static func sum(_ series: [MetricsHistory.Series]) -> [ChartPoint] {
    var totals: [Int64: Double] = [:]
    for s in series {
      for point in s.chartPoints { totals[point.time, default: 0] += point.value }
    }
    return totals.sorted { $0.key < $1.key }.map { ChartPoint(time: $0.key, value: $0.value) }
  }

  /// The sum of the newest values of several series, nil when there are none.
  static func latestSum(_ series: [MetricsHistory.Series]) -> Double? {
    let values = series.compactMap(\.latest)
    return values.isEmpty ? nil : values.reduce(0, +)
  }
}

/// One point of a chart, encoded as `[time_ms, value]` to keep the polled JSON small.
struct ChartPoint: Encodable, Equatable {
  var time: Int64
  var value: Double

  func encode(to encoder: any Encoder) throws {
    var container = encoder.unkeyedContainer()
    try container.encode(time)
    // Three decimals are plenty for records per second and keep the JSON short.
    try container.encode((value * 1000).rounded() / 1000)
  }
}
