import CoreMetrics
import Prometheus
import Synchronization

/// The worker's metrics, exported by `GET /metrics` in Prometheus's text format.
///
/// Components record through swift-metrics as any Swift server library does
/// (`Counter(label: "sluice_…", dimensions: [("connector", name), ("task", "0")])`), created once
/// per task or connection and kept, never per record. `sluice run` bootstraps swift-metrics with
/// ``shared``'s registry; where nothing bootstraps it (unit tests, tools) the handles are
/// swift-metrics' no-ops. Names start with `sluice_`; the labels are `connector`, `task`, `topic`
/// and `partition` where they apply. A metric family keeps one set of label names.
///
/// Gauges whose value is read rather than pushed (segment bytes, a slot's retained WAL, a sink's
/// lag) are set by hooks that run before each scrape (``onScrape(_:)``), or by the component on
/// its own schedule when reading them costs a round trip.
public final class WorkerMetrics: Sendable {
  /// The process's metrics: swift-metrics itself is process-wide.
  public static let shared = WorkerMetrics()

  public let registry: PrometheusCollectorRegistry
  public let factory: PrometheusMetricsFactory
  private let hooks = Mutex<[Int: @Sendable () -> Void]>([:])
  private let nextHook = Atomic<Int>(0)
  private let bootstrapped = Mutex(false)
  private let off = Atomic<Bool>(false)

  public init() {
    registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.defaultDurationHistogramBuckets = Self.durationBuckets
    factory.defaultValueHistogramBuckets = Self.sizeBuckets
    self.factory = factory
  }

  /// Durations from 100 µs (an fsync on a fast disk, a batch put) to 30 s (a stuck sink).
  public static let durationBuckets: [Duration] = [
    .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
    .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
    .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
    .seconds(5), .seconds(10), .seconds(30),
  ]
  /// Batch sizes in records, 1 to 16,384.
  public static let sizeBuckets: [Double] = [1, 4, 16, 64, 256, 1024, 4096, 16384]

  /// Makes swift-metrics record into this registry; the first call in a process wins, later
  /// ones (a second worker in one test process) do nothing.
  public func bootstrap() {
    bootstrapped.withLock { done in
      guard !done else { return }
      done = true
      MetricsSystem.bootstrap(factory)
    }
  }

  /// `metrics: false` in worker.yaml: nothing is bootstrapped (every handle is swift-metrics'
  /// no-op) and ``exposition()`` is a comment saying so. It exists to measure what collecting
  /// costs.
  public func switchOff() { off.store(true, ordering: .relaxed) }

  /// Whether ``switchOff()`` was called.
  public var isOff: Bool { off.load(ordering: .relaxed) }

  /// What `GET /metrics` answers while metrics are off.
  public static let offExposition = Array("# metrics are off (worker.yaml: metrics: false)\n".utf8)

  /// Runs `hook` before every scrape until the returned token is cancelled.
  @discardableResult
  public func onScrape(_ hook: @escaping @Sendable () -> Void) -> ScrapeHook {
    let id = nextHook.add(1, ordering: .relaxed).newValue
    hooks.withLock { $0[id] = hook }
    return ScrapeHook(metrics: self, id: id)
  }

  fileprivate func removeHook(_ id: Int) {
    _ = hooks.withLock { $0.removeValue(forKey: id) }
  }

  /// The Prometheus text exposition, after the scrape hooks ran.
  public func exposition() -> [UInt8] {
    if isOff { return Self.offExposition }
    for hook in hooks.withLock({ Array($0.values) }) { hook() }
    return registry.emitToBuffer()
  }
}

/// A hook registered with ``WorkerMetrics/onScrape(_:)``; cancelling it (or dropping the last
/// reference) removes it.
public final class ScrapeHook: Sendable {
  private let metrics: WorkerMetrics
  private let id: Int

  init(metrics: WorkerMetrics, id: Int) {
    self.metrics = metrics
    self.id = id
  }

  public func cancel() { metrics.removeHook(id) }

  deinit { metrics.removeHook(id) }
}
