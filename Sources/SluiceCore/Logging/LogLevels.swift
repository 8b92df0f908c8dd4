import Foundation
import Logging
import Synchronization

/// A log level as Kafka Connect's `/admin/loggers` names it (log4j's levels), and what it lets
/// through of swift-log's.
public enum LogLevel: String, CaseIterable, Sendable, Codable {
  case trace = "TRACE"
  case debug = "DEBUG"
  case info = "INFO"
  case warn = "WARN"
  case error = "ERROR"
  case fatal = "FATAL"
  case off = "OFF"

  /// A level by its Kafka name, any case (`debug`, `WARN`), or by swift-log's name
  /// (`warning`, `notice`, `critical`); nil for anything else.
  public init?(name: String) {
    let upper = name.uppercased()
    if let level = LogLevel(rawValue: upper) {
      self = level
      return
    }
    guard let swiftLevel = Logger.Level(rawValue: name.lowercased()) else { return nil }
    self.init(swiftLevel)
  }

  /// The Kafka level that lets through `level` and everything above it (`notice` is INFO).
  public init(_ level: Logger.Level) {
    switch level {
    case .trace: self = .trace
    case .debug: self = .debug
    case .info, .notice: self = .info
    case .warning: self = .warn
    case .error: self = .error
    case .critical: self = .fatal
    }
  }

  /// Whether an event at swift-log's `level` is written under this threshold.
  public func allows(_ level: Logger.Level) -> Bool {
    switch self {
    case .off: false
    case .trace: true
    case .debug: level >= .debug
    case .info: level >= .info
    case .warn: level >= .warning
    case .error: level >= .error
    case .fatal: level >= .critical
    }
  }

  /// The lowest swift-log level this threshold lets through (what a handler reports as its
  /// `logLevel`, so `Logger` skips building messages that would be dropped).
  public var lowestAllowed: Logger.Level {
    switch self {
    case .trace: .trace
    case .debug: .debug
    case .info: .info
    case .warn: .warning
    case .error: .error
    case .fatal, .off: .critical
    }
  }

  var verbosity: Int { Self.allCases.count - 1 - Self.allCases.firstIndex(of: self)! }
}

/// The worker's log levels by logger name, changeable while it runs (`/admin/loggers`).
///
/// Names are dotted and hierarchical as log4j's: a logger without a level of its own takes its
/// nearest ancestor's (`sluice.connector.orders` → `sluice.connector` → `sluice` → `root`), and
/// setting a level on a name sets it on every known logger below it too, as Kafka Connect
/// does. Sluice's loggers (``loggerName(label:connector:)``): `sluice` (the worker),
/// `sluice.connector.<name>` (everything a connector's tasks log), `sluice.api`,
/// `sluice.kafka.listener`, `sluice.kafka.store`.
///
/// ``LeveledLogHandler`` consults the registry on every event.
public final class LogLevels: Sendable {
  /// The process's registry, which the `sluice run` log handlers and the admin API share.
  public static let shared = LogLevels()

  /// The name Kafka Connect gives the root logger.
  public static let rootName = "root"

  /// A logger's level and when `/admin/loggers` last set it (ms since the epoch; nil: since
  /// the worker started).
  public struct Entry: Sendable, Equatable {
    public var level: LogLevel
    public var lastModified: Int64?
  }

  private struct State {
    /// Levels set on a name: the root's at start, others through ``set(_:to:)``.
    var explicit: [String: Entry]
    /// Every logger name seen, for the listing.
    var known: Set<String>
  }

  private let state: Mutex<State>

  public init(root: LogLevel = .info) {
    state = Mutex(State(explicit: [Self.rootName: Entry(level: root)], known: []))
  }

  /// Sets the root level at start-up (`SLUICE_LOG_LEVEL`), not counted as a modification.
  public func setInitialRoot(_ level: LogLevel) {
    state.withLock { $0.explicit[Self.rootName] = Entry(level: level) }
  }

  /// The name of the logger a handler with `label` writes for; a connector's own logger when
  /// the event or handler carries `connector` metadata.
  public static func loggerName(label: String, connector: String?) -> String {
    if let connector, !connector.isEmpty { return "sluice.connector.\(connector)" }
    return label.isEmpty ? rootName : label
  }

  /// Records that a logger named `name` exists (and its ancestors), so the listing shows it.
  public func register(_ name: String) {
    guard name != Self.rootName else { return }
    state.withLock { state in
      guard !state.known.contains(name) else { return }
      for ancestor in Self.ancestors(of: name) where ancestor != Self.rootName {
        state.known.insert(ancestor)
      }
      state.known.insert(name)
    }
  }

  /// ``level(for:)`` of the logger a handler with `label` writes for, without building its
  /// name while only the root has a level (the common case, on every log call).
  public func level(label: String, connector: String?) -> LogLevel {
    if let root = rootWhenAlone() { return root }
    return level(for: Self.loggerName(label: label, connector: connector))
  }

  /// ``gate(for:)`` of the logger a handler with `label` writes for, as cheap as
  /// ``level(label:connector:)``.
  public func gate(label: String, connector: String?) -> LogLevel {
    if let root = rootWhenAlone() { return root }
    return gate(for: Self.loggerName(label: label, connector: connector))
  }

  private func rootWhenAlone() -> LogLevel? {
    state.withLock { $0.explicit.count == 1 ? $0.explicit[Self.rootName]?.level : nil }
  }

  /// The level in force for `name`: its own, else its nearest ancestor's, else the root's.
  public func level(for name: String) -> LogLevel {
    state.withLock { Self.effective(name, in: $0).level }
  }

  /// The lowest threshold that applies to `name` or to any logger below it: what a handler
  /// for `name` must let through to be able to apply a connector's own level to an event that
  /// carries `connector` metadata.
  public func gate(for name: String) -> LogLevel {
    state.withLock { state in
      var lowest = Self.effective(name, in: state).level
      if state.explicit.count > 1 {
        let prefix = name == Self.rootName ? "" : name + "."
        for (other, entry) in state.explicit
        where other != Self.rootName && other.hasPrefix(prefix)
          && entry.level.verbosity > lowest.verbosity
        {
          lowest = entry.level
        }
      }
      return lowest
    }
  }

  /// The level of a known logger and when it was last set; nil for a name never seen.
  public func entry(for name: String) -> Entry? {
    state.withLock { state in
      guard name == Self.rootName || state.known.contains(name) || state.explicit[name] != nil
      else { return nil }
      return Self.effective(name, in: state)
    }
  }

  /// Every known logger and the root with the level in force, by name.
  public func all() -> [String: Entry] {
    state.withLock { state in
      var out: [String: Entry] = [:]
      for name in state.known.union(state.explicit.keys) {
        out[name] = Self.effective(name, in: state)
      }
      return out
    }
  }

  /// Sets `level` on `name` and on every known logger below it (every logger, for `root`);
  /// returns the names it set, sorted. An unknown name becomes known.
  @discardableResult
  public func set(_ name: String, to level: LogLevel, at time: Date = Date()) -> [String] {
    let milliseconds = Int64((time.timeIntervalSince1970 * 1000).rounded(.down))
    return state.withLock { state in
      if name != Self.rootName {
        for ancestor in Self.ancestors(of: name) where ancestor != Self.rootName {
          state.known.insert(ancestor)
        }
        state.known.insert(name)
      }
      let prefix = name == Self.rootName ? "" : name + "."
      var affected = [name]
      for other in state.known.union(state.explicit.keys)
      where other != name && other != Self.rootName && other.hasPrefix(prefix) {
        affected.append(other)
      }
      for other in affected {
        state.explicit[other] = Entry(level: level, lastModified: milliseconds)
      }
      return affected.sorted()
    }
  }

  private static func effective(_ name: String, in state: State) -> Entry {
    if let own = state.explicit[name] { return own }
    for ancestor in ancestors(of: name) {
      if let entry = state.explicit[ancestor] {
        return Entry(level: entry.level, lastModified: nil)
      }
    }
    return Entry(level: .info)
  }

  /// `a.b.c` → `a.b`, `a`, `root`: nearest first.
  private static func ancestors(of name: String) -> [String] {
    guard name != rootName else { return [] }
    var out: [String] = []
    var rest = Substring(name)
    while let dot = rest.lastIndex(of: ".") {
      rest = rest[..<dot]
      out.append(String(rest))
    }
    out.append(rootName)
    return out
  }
}

/// A log handler that writes an event only when the level ``LogLevels`` has for its logger
/// lets it through, so `/admin/loggers` changes what is logged while the worker runs.
///
/// The logger's name is the handler's label, or `sluice.connector.<name>` when the handler
/// (`logger[metadataKey: "connector"]`) or the event carries `connector` metadata.
public struct LeveledLogHandler: LogHandler {
  public var wrapped: any LogHandler
  public let label: String
  public let levels: LogLevels
  /// A level set on this handler through `Logger.logLevel`, which then overrides the registry.
  private var ownLevel: Logger.Level?

  public init(label: String, levels: LogLevels = .shared, wrapping handler: any LogHandler) {
    self.label = label
    self.levels = levels
    self.wrapped = handler
    levels.register(LogLevels.loggerName(label: label, connector: nil))
  }

  public var logLevel: Logger.Level {
    get {
      ownLevel
        ?? levels.gate(label: label, connector: Self.connector(in: wrapped.metadata))
        .lowestAllowed
    }
    set { ownLevel = newValue }
  }

  public var metadata: Logger.Metadata {
    get { wrapped.metadata }
    set {
      wrapped.metadata = newValue
      registerConnector(in: newValue)
    }
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { wrapped[metadataKey: key] }
    set {
      wrapped[metadataKey: key] = newValue
      if key == "connector" { registerConnector(in: wrapped.metadata) }
    }
  }

  public func log(event: LogEvent) {
    if let ownLevel {
      guard event.level >= ownLevel else { return }
    } else {
      let connector = event.metadata.flatMap(Self.connector) ?? Self.connector(in: wrapped.metadata)
      guard levels.level(label: label, connector: connector).allows(event.level) else { return }
    }
    wrapped.log(event: event)
  }

  private func registerConnector(in metadata: Logger.Metadata) {
    if let connector = Self.connector(in: metadata) {
      levels.register(LogLevels.loggerName(label: label, connector: connector))
    }
  }

  private static func connector(in metadata: Logger.Metadata) -> String? {
    guard let value = metadata["connector"] else { return nil }
    switch value {
    case .string(let text): return text
    case .stringConvertible(let value): return value.description
    default: return nil
    }
  }
}
