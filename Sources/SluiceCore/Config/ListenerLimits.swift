import Synchronization

/// How much of the worker one HTTP client may hold (`listeners:` in worker.yaml): open
/// connections per listener, and how long a client may take to send a request's headers, its
/// body, or nothing at all between requests. Applies to the admin API and every webhook
/// listener, so slowloris and piles of idle sockets cannot exhaust file descriptors.
public struct ListenerLimits: Sendable, Equatable {
  public var maxConnections = 512
  /// From connect (or the end of the previous request) to a complete request head.
  public var headerTimeout: Duration = .seconds(10)
  /// From a request head to the end of its body.
  public var readTimeout: Duration = .seconds(60)
  /// With no request in progress.
  public var idleTimeout: Duration = .seconds(60)

  public init() {}

  static let keys = ["max_connections", "header_timeout", "read_timeout", "idle_timeout"]

  init(_ node: ConfigNode) throws(ConfigError) {
    let m = try node.mapping(allowedKeys: Self.keys)
    maxConnections = try m.int("max_connections", default: maxConnections, range: 1...1_000_000)
    headerTimeout = try m.duration("header_timeout", default: .seconds(10))
    readTimeout = try m.duration("read_timeout", default: .seconds(60))
    idleTimeout = try m.duration("idle_timeout", default: .seconds(60))
  }

  /// The limits of this process: `sluice run` sets them from worker.yaml before any listener
  /// starts; webhook listeners, which connectors start, read them here.
  public static var current: ListenerLimits {
    get { shared.withLock { $0 } }
    set { shared.withLock { $0 = newValue } }
  }
  private static let shared = Mutex(ListenerLimits())
}
