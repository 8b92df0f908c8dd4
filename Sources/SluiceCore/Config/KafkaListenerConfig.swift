/// `kafka:` in worker.yaml: the Kafka wire-protocol listener that serves the embedded log to
/// Kafka clients (DESIGN.md §8). Off unless the section is there.
public struct KafkaListenerConfig: Sendable, Equatable {
  /// Where it listens (default 127.0.0.1:9092).
  public var host = "127.0.0.1"
  public var port = 9092
  /// The address put into Metadata answers, for clients that reach the worker by another
  /// name (a container's published port); default: `listen`, with 0.0.0.0 as 127.0.0.1.
  public var advertisedHost: String?
  public var advertisedPort: Int?
  /// Whether a Metadata request that allows it creates the topics it names (Kafka's
  /// `auto.create.topics.enable`, default true).
  public var autoCreateTopics = true
  /// The largest request frame taken; a larger one closes the connection (Kafka's
  /// `socket.request.max.bytes`, 100 MiB).
  public var maxRequestBytes = 100 << 20
  /// A connection with no request for this long is closed (Kafka's
  /// `connections.max.idle.ms`, 10 minutes).
  public var idleTimeout: Duration = .seconds(600)
  /// `tls`: connections are TLS (Kafka's SSL listener); nil: plaintext.
  public var tls: KafkaListenerTLS?
  /// `sasl`: clients must authenticate; nil: anyone may connect.
  public var sasl: KafkaListenerSASL?

  public init() {}

  /// What Kafka clients set as `security.protocol` to reach this listener.
  public var securityProtocol: String {
    switch (tls != nil, sasl != nil) {
    case (false, false): "PLAINTEXT"
    case (true, false): "SSL"
    case (false, true): "SASL_PLAINTEXT"
    case (true, true): "SASL_SSL"
    }
  }

  /// The host and port clients are told to connect to.
  public var advertised: (host: String, port: Int) {
    (
      advertisedHost ?? (host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host),
      advertisedPort ?? port
    )
  }

  static let keys = [
    "listen", "advertised", "auto_create_topics", "max_request_bytes", "idle_timeout", "tls",
    "sasl",
  ]

  init(_ node: ConfigNode) throws(ConfigError) {
    let m = try node.mapping(allowedKeys: Self.keys)
    (host, port) = try m.hostPort("listen", default: (host, port))
    if m.node("advertised") != nil {
      let advertised = try m.hostPort("advertised", default: (host, port))
      advertisedHost = advertised.host
      advertisedPort = advertised.port
    }
    autoCreateTopics = try m.bool("auto_create_topics", default: autoCreateTopics)
    let bytes = try m.bytes("max_request_bytes", default: Int64(maxRequestBytes))
    if let given = m.node("max_request_bytes"), !(1024...(1 << 30)).contains(bytes) {
      throw given.error("max_request_bytes must be between 1KiB and 1GiB")
    }
    maxRequestBytes = Int(bytes)
    idleTimeout = try m.duration("idle_timeout", default: .seconds(600))
    if let tls = m.node("tls") { self.tls = try KafkaListenerTLS(tls) }
    if let sasl = m.node("sasl") { self.sasl = try KafkaListenerSASL(sasl) }
  }
}
