import Foundation
import ServiceLifecycle
import Synchronization

/// The last minutes of a few metric families, kept in memory for the dashboard's charts.
///
/// Every ``interval`` it reads the worker's Prometheus exposition (the same text `GET /metrics`
/// serves, through a closure so a test can hand it a private registry's), keeps the samples of
/// the ``families`` it was given and drops the rest. Each series (a family and one set of label
/// values) keeps its samples for ``window`` in a ``RingBuffer``; a series that stops appearing
/// (a removed connector) ages out with its samples. Counters are charted as rates
/// (``Series/rates``), gauges as they are.
///
/// A family that no component records yet simply has no series: the history never fails on
/// what is absent.
public final class MetricsHistory: Service, Sendable {
  /// How a family's values are read.
  public enum Kind: Sendable {
    /// Only goes up (or restarts from zero): charted as a rate per second.
    case counter
    /// A level (lag, retained WAL): charted as it is.
    case gauge
  }

  /// A metric family to keep: its name in the exposition and its kind.
  public struct Family: Sendable, Hashable {
    public var name: String
    public var kind: Kind

    public init(_ name: String, _ kind: Kind) {
      self.name = name
      self.kind = kind
    }
  }

  /// One sample: when it was taken (ms since 1970) and its value.
  public struct Point: Sendable, Equatable {
    public var time: Int64
    public var value: Double

    public init(time: Int64, value: Double) {
      self.time = time
      self.value = value
    }
  }

  /// One series' samples within the window, oldest first.
  public struct Series: Sendable {
    public var family: Family
    public var labels: [String: String]
    public var samples: [Point]

    public init(family: Family, labels: [String: String], samples: [Point]) {
      self.family = family
      self.labels = labels
      self.samples = samples
    }

    /// The newest sample's value.
    public var latest: Double? { samples.last?.value }

    /// Per second between consecutive samples, stamped with the later one's time. A value
    /// lower than the one before means the counter restarted from zero (a restarted task), so
    /// the whole new value counts, as Prometheus's `rate()` reads a reset.
    public var rates: [Point] {
      zip(samples, samples.dropFirst()).compactMap { earlier, later in
        let seconds = Double(later.time - earlier.time) / 1000
        guard seconds > 0 else { return nil }
        let increase = later.value >= earlier.value ? later.value - earlier.value : later.value
        return Point(time: later.time, value: increase / seconds)
      }
    }

    /// What a chart draws: rates for a counter, the values for a gauge.
    public var chartPoints: [Point] { family.kind == .counter ? rates : samples }
  }

  /// How often the exposition is read.
  public let interval: Duration
  /// How long samples are kept.
  public let window: Duration
  public let families: [Family]
  private let exposition: @Sendable () -> [UInt8]
  private let series = Mutex<[HistoryKey: RingBuffer<Point>]>([:])
  /// When the previous sample was taken, nil before the first.
  private let previousSample = Mutex<Int64?>(nil)
  private let kinds: [String: Kind]

  /// - Parameters:
  ///   - interval: the time between samples (the dashboard's default is 10 s; tests use less).
  ///   - window: how long a sample is kept (15 minutes).
  ///   - exposition: the Prometheus text to read, such as `WorkerMetrics.shared.exposition()`.
  public init(
    interval: Duration = .seconds(10), window: Duration = .seconds(15 * 60), families: [Family],
    exposition: @escaping @Sendable () -> [UInt8]
  ) {
    precondition(interval > .zero && window >= interval, "a window of at least one interval")
    self.interval = interval
    self.window = window
    self.families = families
    self.exposition = exposition
    kinds = Dictionary(families.map { ($0.name, $0.kind) }, uniquingKeysWith: { first, _ in first })
  }

  /// How many samples a series keeps: one per interval across the window, and the one that
  /// starts it.
  var capacity: Int { Int(window / interval) + 1 }

  /// Reads the exposition now and records its samples as taken at `time` (ms since 1970).
  public func sample(at time: Int64 = currentTimeMillis()) {
    let text = String(decoding: exposition(), as: UTF8.self)
    let read = ExpositionParser.samples(in: text, names: Set(kinds.keys))
    let oldest = time - Int64(window / .milliseconds(1))
    let capacity = capacity
    let previous = previousSample.withLock { last in
      defer { last = time }
      return last
    }
    series.withLock { all in
      for sample in read where sample.value.isFinite {
        let key = HistoryKey(name: sample.name, labels: sample.labels)
        if all[key] == nil, kinds[sample.name] == .counter, let previous, previous < time,
          previous >= oldest
        {
          // A counter absent from the previous sample was created since, at zero (a task that
          // started): its first records are a rate too, not only a starting value.
          all[key] = RingBuffer(capacity: capacity)
          all[key]!.append(Point(time: previous, value: 0))
        }
        all[key, default: RingBuffer(capacity: capacity)].append(
          Point(time: time, value: sample.value))
      }
      // Samples older than the window go even when the buffer is not full (a sampler that
      // was late, or a series no longer written); a series with none left goes too.
      for key in Array(all.keys) {
        all[key]!.removeOldest { $0.time < oldest }
        if all[key]!.isEmpty { all.removeValue(forKey: key) }
      }
    }
  }

  /// Every series of `family` (empty when nothing records it yet), in label order.
  public func series(of family: String) -> [Series] {
    guard let kind = kinds[family] else { return [] }
    let found = series.withLock { all in
      all.filter { $0.key.name == family }.map { ($0.key, $0.value.elements) }
    }
    return found.sorted { $0.0.sortKey < $1.0.sortKey }.map { key, points in
      Series(family: Family(family, kind), labels: key.labels, samples: points)
    }
  }

  /// Every series kept, by family name.
  public func all() -> [String: [Series]] {
    Dictionary(uniqueKeysWithValues: families.map { ($0.name, series(of: $0.name)) })
  }

  /// Samples every ``interval`` until the worker shuts down.
  public func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
          self.sample()
          try await Task.sleep(for: self.interval)
        }
      }
    } catch is CancellationError {
      // Shutting down: nothing to flush, the history lives in memory only.
    }
  }
}

/// A family and one set of label values.
private struct HistoryKey: Hashable {
  var name: String
  var labels: [String: String]

  /// Label values in label-name order, for a stable listing.
  var sortKey: String {
    labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
  }
}
