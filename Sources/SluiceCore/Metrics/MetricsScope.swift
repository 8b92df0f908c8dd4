import CoreMetrics
import Synchronization

/// The metric handles one task (or connection) holds, so that they can be let go of together
/// when it stops: ``release()`` destroys every series that no other scope holds, so a removed
/// or stopped connector's series disappear from `GET /metrics`.
///
/// Series are shared by label set: the Prometheus registry hands two tasks asking for
/// `sluice_http_sink_requests_total{connector="a",status="200"}` the same counter. A process-wide
/// count of holders per series makes the last holder, not the first to stop, destroy it; a
/// task restarted on the same labels keeps counting where its predecessor left off when the
/// two overlap, and starts again from zero (a counter reset Prometheus handles) when they do not.
public final class MetricsScope: Sendable {
  private let held = Mutex<[SeriesKey: any MetricHandle]>([:])
  private let released = Mutex(false)

  public init() {}

  deinit { release() }

  /// A counter, created (or shared) now and kept until ``release()``.
  public func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
    hold(label, dimensions) { Counter(label: label, dimensions: dimensions) }
  }

  /// A gauge (a value set, not added to).
  public func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
    hold(label, dimensions) { Gauge(label: label, dimensions: dimensions) }
  }

  /// A duration histogram, with the buckets of ``WorkerMetrics/durationBuckets``.
  public func timer(_ label: String, _ dimensions: [(String, String)]) -> Timer {
    hold(label, dimensions) { Timer(label: label, dimensions: dimensions) }
  }

  /// Lets go of every handle; series no other scope holds are destroyed. Idempotent.
  public func release() {
    let done = released.withLock { old in
      defer { old = true }
      return old
    }
    guard !done else { return }
    let handles = held.withLock { all in
      defer { all.removeAll() }
      return all
    }
    for (key, handle) in handles {
      SeriesHolders.shared.leave(key) { handle.destroyHandle() }
    }
  }

  private func hold<Handle: MetricHandle>(
    _ label: String, _ dimensions: [(String, String)], make: () -> Handle
  ) -> Handle {
    let key = SeriesKey(label: label, dimensions: dimensions)
    return held.withLock { all in
      if let known = all[key] as? Handle { return known }
      let handle = SeriesHolders.shared.join(key, make: make)
      all[key] = handle
      return handle
    }
  }
}

/// A series: a metric name and its label values, in order.
struct SeriesKey: Hashable, Sendable {
  var label: String
  var dimensions: [String]

  init(label: String, dimensions: [(String, String)]) {
    self.label = label
    self.dimensions = dimensions.flatMap { [$0.0, $0.1] }
  }
}

/// How many scopes hold each series, process-wide (swift-metrics itself is process-wide). A
/// handle is made and destroyed under the same lock as the count changes, so a series one
/// scope destroys is never the one another scope has just been given.
final class SeriesHolders: Sendable {
  static let shared = SeriesHolders()
  private let counts = Mutex<[SeriesKey: Int]>([:])

  func join<Handle>(_ key: SeriesKey, make: () -> Handle) -> Handle {
    counts.withLock { counts in
      counts[key, default: 0] += 1
      return make()
    }
  }

  /// Runs `destroy` when `key` has no holder left.
  func leave(_ key: SeriesKey, destroy: () -> Void) {
    counts.withLock { counts in
      let left = (counts[key] ?? 1) - 1
      counts[key] = left > 0 ? left : nil
      if left <= 0 { destroy() }
    }
  }
}

/// A swift-metrics handle that can be destroyed (removed from the registry).
protocol MetricHandle: AnyObject, Sendable {
  func destroyHandle()
}

extension Counter: MetricHandle {
  func destroyHandle() { destroy() }
}

extension Recorder: MetricHandle {
  func destroyHandle() { destroy() }
}

extension Timer: MetricHandle {
  func destroyHandle() { destroy() }
}
