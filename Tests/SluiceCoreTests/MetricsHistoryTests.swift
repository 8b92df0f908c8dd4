import Prometheus
import SluiceCore
import XCTest

/// ``MetricsHistory`` on a private Prometheus registry: what it samples, how long it keeps it,
/// the rates it derives, and families nothing records yet.
final class MetricsHistoryTests: XCTestCase {
  private let families: [MetricsHistory.Family] = [
    .init("sluice_source_records_total", .counter), .init("sluice_sink_lag_records", .gauge),
    .init("sluice_dlq_records_total", .counter),
  ]

  private func history(_ registry: PrometheusCollectorRegistry, interval: Duration = .seconds(10))
    -> MetricsHistory
  {
    MetricsHistory(interval: interval, families: families) { registry.emitToBuffer() }
  }

  func testSamplesOnlyTheFamiliesItKeeps() {
    let registry = PrometheusCollectorRegistry()
    let records = registry.makeCounter(
      name: "sluice_source_records_total", labels: [("connector", "in"), ("task", "0")])
    let lag = registry.makeGauge(
      name: "sluice_sink_lag_records",
      labels: [("connector", "out"), ("topic", "t"), ("partition", "0")])
    _ = registry.makeCounter(name: "sluice_other_total", labels: [("connector", "in")])
    let history = history(registry)
    records.increment(by: Int64(5))
    lag.set(7.0)
    history.sample(at: 1_000)

    let kept = history.series(of: "sluice_source_records_total")
    XCTAssertEqual(kept.count, 1)
    XCTAssertEqual(kept.first?.labels, ["connector": "in", "task": "0"])
    XCTAssertEqual(kept.first?.samples, [MetricsHistory.Point(time: 1_000, value: 5)])
    XCTAssertEqual(history.series(of: "sluice_sink_lag_records").first?.latest, 7)
    XCTAssertEqual(history.series(of: "sluice_other_total").count, 0, "not a kept family")
    XCTAssertEqual(Set(history.all().keys), Set(families.map(\.name)))
  }

  func testCounterBecomesARatePerSecondAndAResetCountsFromZero() {
    let registry = PrometheusCollectorRegistry()
    let records = registry.makeCounter(
      name: "sluice_source_records_total", labels: [("connector", "in"), ("task", "0")])
    let history = history(registry)
    history.sample(at: 0)
    records.increment(by: Int64(100))
    history.sample(at: 10_000)
    records.increment(by: Int64(50))
    history.sample(at: 20_000)
    records.reset()  // A restarted task starts its counter again.
    records.increment(by: Int64(30))
    history.sample(at: 30_000)

    let series = history.series(of: "sluice_source_records_total")[0]
    XCTAssertEqual(series.rates.map(\.value), [10, 5, 3])
    XCTAssertEqual(series.rates.map(\.time), [10_000, 20_000, 30_000])
    XCTAssertEqual(series.chartPoints, series.rates, "a counter is charted as its rate")
  }

  /// A task started between two samples: its counter was zero at the earlier one, so the
  /// records it counted before the first sample that shows it are a rate, not lost.
  func testACounterThatAppearsBetweenSamplesStartsFromZero() {
    let registry = PrometheusCollectorRegistry()
    let history = history(registry)
    history.sample(at: 0)
    registry.makeCounter(
      name: "sluice_source_records_total", labels: [("connector", "new"), ("task", "0")]
    ).increment(by: Int64(80))
    history.sample(at: 10_000)
    let series = history.series(of: "sluice_source_records_total")[0]
    XCTAssertEqual(series.samples.map(\.value), [0, 80])
    XCTAssertEqual(series.rates.map(\.value), [8])
    // On the very first sample nothing says when the counter began: no rate is made up.
    let fresh = self.history(registry)
    fresh.sample(at: 0)
    XCTAssertEqual(fresh.series(of: "sluice_source_records_total")[0].samples.count, 1)
  }

  func testGaugeIsChartedAsItIs() {
    let registry = PrometheusCollectorRegistry()
    let lag = registry.makeGauge(
      name: "sluice_sink_lag_records",
      labels: [("connector", "out"), ("topic", "t"), ("partition", "0")])
    let history = history(registry)
    for (i, value) in [4.0, 9, 2].enumerated() {
      lag.set(value)
      history.sample(at: Int64(i) * 10_000)
    }
    let series = history.series(of: "sluice_sink_lag_records")[0]
    XCTAssertEqual(series.chartPoints.map(\.value), [4, 9, 2])
  }

  func testKeepsFifteenMinutesAndDropsOlderSamples() {
    let registry = PrometheusCollectorRegistry()
    let records = registry.makeCounter(
      name: "sluice_source_records_total", labels: [("connector", "in"), ("task", "0")])
    let history = history(registry)
    // 20 minutes of samples every 10 s.
    for step in 0...120 {
      records.increment(by: Int64(1))
      history.sample(at: Int64(step) * 10_000)
    }
    let samples = history.series(of: "sluice_source_records_total")[0].samples
    XCTAssertEqual(samples.count, 91, "15 minutes of 10 s samples, both ends included")
    XCTAssertEqual(samples.first?.time, 300_000, "the first 5 minutes went")
    XCTAssertEqual(samples.last?.time, 1_200_000)
    XCTAssertEqual(samples.last?.value, 121)
  }

  func testALateSamplerStillDropsWhatIsOutsideTheWindow() {
    let registry = PrometheusCollectorRegistry()
    _ = registry.makeGauge(
      name: "sluice_sink_lag_records",
      labels: [("connector", "out"), ("topic", "t"), ("partition", "0")])
    let history = history(registry)
    history.sample(at: 0)
    history.sample(at: 10_000)
    // Far fewer samples than the buffer holds, but the first two are older than 15 minutes.
    history.sample(at: 16 * 60_000)
    XCTAssertEqual(history.series(of: "sluice_sink_lag_records")[0].samples.map(\.time), [960_000])
  }

  func testASeriesNoLongerExportedAgesOut() {
    let registry = PrometheusCollectorRegistry()
    let gone = registry.makeCounter(
      name: "sluice_source_records_total", labels: [("connector", "removed"), ("task", "0")])
    let history = history(registry)
    history.sample(at: 0)
    registry.unregisterCounter(gone)
    history.sample(at: 60_000)
    XCTAssertEqual(history.series(of: "sluice_source_records_total").count, 1)
    history.sample(at: 16 * 60_000)
    XCTAssertEqual(history.series(of: "sluice_source_records_total").count, 0)
  }

  func testFamiliesNobodyRecordsYetHaveNoSeries() {
    let registry = PrometheusCollectorRegistry()
    let history = history(registry)
    history.sample(at: 0)
    history.sample(at: 10_000)
    XCTAssertEqual(history.series(of: "sluice_dlq_records_total").count, 0)
    XCTAssertEqual(history.series(of: "not_a_family").count, 0)
    XCTAssertTrue(history.all().values.allSatisfy(\.isEmpty))
    // Once something records it, it appears.
    registry.makeCounter(
      name: "sluice_dlq_records_total", labels: [("connector", "c"), ("task", "0")]
    )
    .increment()
    history.sample(at: 20_000)
    XCTAssertEqual(history.series(of: "sluice_dlq_records_total").first?.latest, 1)
  }

  func testRunSamplesEveryIntervalUntilCancelled() async throws {
    let registry = PrometheusCollectorRegistry()
    registry.makeGauge(
      name: "sluice_sink_lag_records",
      labels: [("connector", "out"), ("topic", "t"), ("partition", "0")]
    ).set(1.0)
    let history = history(registry, interval: .milliseconds(20))
    let running = Task { try await history.run() }
    let started = ContinuousClock.now
    // Several samples, each a run of the timer: not one taken at start.
    try await eventually {
      history.series(of: "sluice_sink_lag_records").first?.samples.count ?? 0 > 3
    }
    XCTAssertLessThan(ContinuousClock.now - started, .seconds(5), "sampled about every 20 ms")
    running.cancel()
    try await running.value
  }
}
