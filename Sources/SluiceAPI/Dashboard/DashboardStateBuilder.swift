import Foundation
import SluiceCore

/// Builds a ``DashboardState`` from what the worker knows — statuses, the metrics history,
/// topics — without I/O of its own, so every figure the page shows is a unit test away.
///
/// Figures come from the metrics history where a component records them, and from the tasks'
/// status details otherwise (the sink's `lag_records`, `dlq_records`, the CDC snapshot's text),
/// so the page shows what is known today and more as components add metrics.
struct DashboardStateBuilder {
  var worker: WorkerSummary
  var statuses: [ConnectorStatus]
  /// Each connector's dead-letter topic (`errors.deadletterqueue.topic.name`, or `<name>.dlq`).
  var deadLetterTopics: [String: String] = [:]
  /// The history's series by family name (``MetricsHistory/all()``).
  var history: [String: [MetricsHistory.Series]] = [:]
  var topics: [TopicDescription] = []
  var topicsError: String?
  /// Each connector's slot thresholds as its config says them (`1GiB`, `off`), where it has
  /// them; a task's status detail of the same name wins.
  var slotThresholds: [String: (warn: String?, fail: String?)] = [:]
  var sampleIntervalMs: Int64 = 10_000
  var windowMs: Int64 = 900_000
  var now: Int64 = 0

  /// The CDC connector's slot thresholds, `slot_warn_retained_wal` and `slot_fail_retained_wal`:
  /// config keys, and task details of the same names where a task reports them; sizes (`1GiB`)
  /// or bytes.
  static let warnDetail = "slot_warn_retained_wal"
  static let failDetail = "slot_fail_retained_wal"

  func build() -> DashboardState {
    let topicNames = Set(topics.map(\.name))
    return DashboardState(
      worker: worker, generatedAt: now, sampleIntervalMs: sampleIntervalMs, windowMs: windowMs,
      connectors: statuses.map { view(of: $0, topicNames: topicNames) },
      topics: topics.map(TopicSummary.init), topicsError: topicsError)
  }

  private func view(of status: ConnectorStatus, topicNames: Set<String>) -> ConnectorView {
    let name = status.name
    let isSink = status.type == "sink"
    let throughputSeries = series(
      isSink ? DashboardMetrics.sinkRecords : DashboardMetrics.sourceRecords, of: name)
    let throughputPoints = DashboardMetrics.sum(throughputSeries)
    let deadLetterTopic = deadLetterTopics[name] ?? "\(name).dlq"
    return ConnectorView(
      name: name, type: status.type, connectorType: status.connectorType,
      state: status.connector.state, trace: status.connector.trace,
      tasks: status.tasks.map { task in
        let points = DashboardMetrics.sum(
          throughputSeries.filter { $0.labels["task"] == String(task.id) })
        return TaskView(status: task, throughput: Chart(latest: points.last?.value, points: points))
      },
      throughput: Chart(latest: throughputPoints.last?.value, points: throughputPoints),
      lag: isSink ? lag(of: status) : nil,
      deadLetters: DeadLetterView(
        topic: deadLetterTopic,
        count: DashboardMetrics.latestSum(series(DashboardMetrics.deadLetterRecords, of: name))
          ?? detailSum(status, ["dlq_records", "dead_lettered"]),
        topicExists: topicNames.contains(deadLetterTopic)),
      slots: slots(of: status), snapshot: snapshot(of: status))
  }

  /// The series of `family` labelled with this connector.
  private func series(_ family: String, of connector: String) -> [MetricsHistory.Series] {
    history[family]?.filter { $0.labels["connector"] == connector } ?? []
  }

  private func lag(of status: ConnectorStatus) -> Chart {
    let lagSeries = series(DashboardMetrics.sinkLag, of: status.name)
    return Chart(
      latest: DashboardMetrics.latestSum(lagSeries) ?? detailSum(status, ["lag_records"]),
      points: DashboardMetrics.sum(lagSeries))
  }

  /// The sum of the tasks' numeric details under any of `keys`, nil when no task has one.
  private func detailSum(_ status: ConnectorStatus, _ keys: [String]) -> Double? {
    let values = status.tasks.flatMap { task in keys.compactMap { task.details[$0] } }
      .compactMap(Double.init)
    return values.isEmpty ? nil : values.reduce(0, +)
  }

  private func firstDetail(_ status: ConnectorStatus, _ key: String) -> String? {
    status.tasks.lazy.compactMap { $0.details[key] }.first
  }

  private func slots(of status: ConnectorStatus) -> [SlotView] {
    let configured = slotThresholds[status.name]
    // `off` (or anything that is not a size) draws no line.
    let warn = (firstDetail(status, Self.warnDetail) ?? configured?.warn).flatMap(ByteSize.parse)
    let fail = (firstDetail(status, Self.failDetail) ?? configured?.fail).flatMap(ByteSize.parse)
    let bySlot = Dictionary(
      grouping: series(DashboardMetrics.slotRetainedWAL, of: status.name),
      by: { $0.labels["slot"] ?? "" })
    var views = bySlot.sorted { $0.key < $1.key }.map { slot, series in
      let points = DashboardMetrics.sum(series)
      return SlotView(
        slot: slot, retainedWALBytes: Chart(latest: points.last?.value, points: points),
        warnBytes: warn, failBytes: fail)
    }
    // Thresholds without a measurement yet still say where the line is, for a connector that
    // has a slot.
    if views.isEmpty, warn != nil || fail != nil, firstDetail(status, "slot") != nil {
      views.append(
        SlotView(
          slot: firstDetail(status, "slot") ?? "", retainedWALBytes: .empty, warnBytes: warn,
          failBytes: fail))
    }
    return views
  }

  private func snapshot(of status: ConnectorStatus) -> SnapshotView? {
    let text = firstDetail(status, "snapshot")
    let remainingSeries = series(DashboardMetrics.snapshotRemainingTables, of: status.name)
    let remaining = DashboardMetrics.latestSum(remainingSeries).map { Int($0) }
    let rows =
      DashboardMetrics.latestSum(series(DashboardMetrics.snapshotRows, of: status.name))
      .map { Int64($0) } ?? firstDetail(status, "snapshot_rows").flatMap { Int64($0) }
    guard text != nil || remaining != nil || rows != nil else { return nil }
    var view = SnapshotView(
      fraction: nil, remainingTables: remaining, totalTables: nil, rows: rows, text: text)
    if let reading = text.flatMap(SnapshotText.init) {
      view.totalTables = reading.tables
      view.fraction = reading.fraction
      if view.remainingTables == nil { view.remainingTables = reading.tables - reading.table + 1 }
    } else if let remaining {
      // The most tables the gauge ever showed within the window stands for the total (none
      // when it only ever showed 0: a snapshot done before the window).
      let most = remainingSeries.flatMap(\.samples).map { Int($0.value) }.max() ?? remaining
      view.totalTables = most > 0 ? most : nil
      view.fraction = most > 0 ? Double(most - remaining) / Double(most) : 1
    } else if text?.hasPrefix("completed") == true {
      view.fraction = 1
    }
    return view
  }
}

/// A size as the connectors' details write it: bytes, or a number with `KiB`, `MiB`, `GiB`,
/// `TiB`, `KB`, `MB`, `GB`, `TB` or `B`.
enum ByteSize {
  static func parse(_ text: String) -> Int64? {
    let units: [(String, Double)] = [
      ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
      ("KB", 1e3),
      ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
    ]
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let (number, factor) =
      units.first { trimmed.hasSuffix($0.0) }
      .map { (trimmed.dropLast($0.0.count).trimmingCharacters(in: .whitespaces), $0.1) }
      ?? (trimmed, 1)
    guard let value = Double(number), value >= 0, value * factor < 9e18 else { return nil }
    return Int64(value * factor)
  }
}

/// The CDC snapshot's status text, `running: table 2/5 public.orders, 1200/~5000 rows`.
struct SnapshotText: Equatable {
  /// The table being read (1-based) and how many there are.
  var table: Int
  var tables: Int
  var rows: Int64
  var estimatedRows: Int64?

  init?(_ text: String) {
    let words = text.split(separator: " ")
    guard let at = words.firstIndex(of: "table"), at + 1 < words.count else { return nil }
    let counts = words[at + 1].split(separator: "/")
    guard counts.count == 2, let table = Int(counts[0]), let tables = Int(counts[1]),
      tables > 0, (1...tables).contains(table)
    else { return nil }
    self.table = table
    self.tables = tables
    rows = 0
    if let rowsAt = words.lastIndex(of: "rows"), rowsAt > 0 {
      let figures = words[rowsAt - 1].split(separator: "/")
      rows = figures.first.flatMap { Int64($0) } ?? 0
      estimatedRows = figures.dropFirst().first.flatMap { Int64($0.drop { $0 == "~" }) }
    }
  }

  /// Tables done, plus the share of the current one read (when its size is estimated).
  var fraction: Double {
    let withinTable = estimatedRows.map { $0 > 0 ? min(Double(rows) / Double($0), 1) : 0 } ?? 0
    return (Double(table - 1) + withinTable) / Double(tables)
  }
}
