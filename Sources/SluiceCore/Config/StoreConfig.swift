import Foundation

/// `store:` in worker.yaml: where the worker's topics live (DESIGN.md §8). The embedded log
/// (`{ kind: embedded }`, the default, with its `log:` settings) or a Kafka cluster
/// (`{ kind: kafka, bootstrap: [host:port, …], … }`).
public enum StoreConfig: Sendable, Equatable {
  /// The embedded log in `data_dir`, configured by `log:`.
  case embedded(EmbeddedStoreConfig)
  /// Topics on a Kafka cluster, through Sluice's own client.
  case kafka(KafkaStoreConfig)

  /// The store's kind as the file names it (`embedded`, `kafka`).
  public var kind: String {
    switch self {
    case .embedded: "embedded"
    case .kafka: "kafka"
    }
  }

  static let kinds = ["embedded", "kafka"]

  init(_ node: ConfigNode) throws(ConfigError) {
    // The kind decides the other keys: read it first, from a mapping that allows every key
    // either kind knows, then check the keys against the kind's own list.
    let any = try node.mapping(allowedKeys: ["kind"] + KafkaStoreConfig.keys)
    let kind = try any.oneOf("kind", allowed: Self.kinds, default: "embedded")
    switch kind {
    case "kafka":
      self = .kafka(try KafkaStoreConfig(node))
    default:
      _ = try node.mapping(allowedKeys: ["kind"])
      self = .embedded(EmbeddedStoreConfig())
    }
  }
}

/// `store: { kind: kafka, … }`: the cluster, how to reach it, and how the store creates its
/// topics.
public struct KafkaStoreConfig: Sendable, Equatable {
  /// A broker of the bootstrap list.
  public struct Broker: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
      self.host = host
      self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
  }

  /// `security.protocol`, as Kafka clients name it.
  public enum SecurityProtocol: String, Sendable, Equatable, CaseIterable {
    case plaintext
    case ssl
    case saslPlaintext = "sasl_plaintext"
    case saslSSL = "sasl_ssl"

    /// Whether connections use TLS.
    public var usesTLS: Bool { self == .ssl || self == .saslSSL }
    /// Whether connections authenticate with SASL.
    public var usesSASL: Bool { self == .saslPlaintext || self == .saslSSL }
  }

  /// `security.sasl`: the mechanism and credentials.
  public struct SASL: Sendable, Equatable {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    public var mechanism: String
    public var username: String
    public var password: String

    public init(mechanism: String, username: String, password: String) {
      self.mechanism = mechanism
      self.username = username
      self.password = password
    }
  }

  /// `security.tls`: PEM files; without `ca` the system's roots are trusted.
  public struct TLS: Sendable, Equatable {
    public var ca: String?
    public var cert: String?
    public var key: String?

    public init(ca: String? = nil, cert: String? = nil, key: String? = nil) {
      self.ca = ca
      self.cert = cert
      self.key = key
    }
  }

  /// Brokers to learn the cluster from.
  public var bootstrap: [Broker]
  /// The client id in every request (default `sluice`).
  public var clientId = "sluice"
  public var securityProtocol: SecurityProtocol = .plaintext
  /// Present exactly when ``securityProtocol`` uses SASL.
  public var sasl: SASL?
  /// TLS files, for the TLS protocols (nil: system roots, no client certificate).
  public var tls: TLS?
  /// Replicas of each topic the store creates; nil: the broker's default.
  public var replicationFactor: Int?
  /// Partitions of a topic created by a write.
  public var defaultPartitions = 1
  /// The compacted topic of source positions (`sluice-offsets`).
  public var offsetsTopic = "sluice-offsets"
  /// The compacted topic of connector and task status (`sluice-status`).
  public var statusTopic = "sluice-status"
  /// The topic of source connectors' history: copies of the records of those that rebuild
  /// state from them (`sluice-history`).
  public var historyTopic = "sluice-history"
  /// How long a source task's next transaction waits after the last one committed, so sends
  /// that come meanwhile share it (`linger_ms`, as Kafka producers call it; default 5 ms).
  public var linger: Duration = .milliseconds(5)
  /// The codec of the batches the store produces (`compression`, the producer's
  /// `compression.type`; default none).
  public var compression: CompressionType = .none

  public init(bootstrap: [Broker]) {
    self.bootstrap = bootstrap
  }

  static let keys = [
    "bootstrap", "client_id", "security", "replication_factor", "default_partitions",
    "offsets_topic", "status_topic", "history_topic", "linger_ms", "compression",
  ]

  init(_ node: ConfigNode) throws(ConfigError) {
    let m = try node.mapping(allowedKeys: ["kind"] + Self.keys)
    bootstrap = try Self.brokers(m.required("bootstrap"))
    clientId = try m.string("client_id", default: clientId)
    if let given = m.node("client_id"), clientId.isEmpty {
      throw given.error("client_id must not be empty")
    }
    if let n = m.node("replication_factor") {
      let factor = try n.int()
      guard (1...Int(Int16.max)).contains(factor) else {
        throw n.error("replication_factor must be at least 1, got \(factor)")
      }
      replicationFactor = factor
    }
    defaultPartitions = try m.int(
      "default_partitions", default: defaultPartitions, range: 1...10_000)
    offsetsTopic = try Self.topicName(m, "offsets_topic", default: offsetsTopic)
    statusTopic = try Self.topicName(m, "status_topic", default: statusTopic)
    historyTopic = try Self.topicName(m, "history_topic", default: historyTopic)
    linger = try m.duration("linger_ms", default: linger)
    if linger > .seconds(60), let n = m.node("linger_ms") {
      throw n.error("linger_ms is at most 1 minute, got \(linger.inMilliseconds) ms")
    }
    compression = CompressionType(
      rawValue: try m.oneOf(
        "compression", allowed: CompressionType.allCases.map(\.rawValue), default: "none"))!
    let topics = [
      ("offsets_topic", offsetsTopic), ("status_topic", statusTopic),
      ("history_topic", historyTopic),
    ]
    for (i, (key, topic)) in topics.enumerated() {
      for (earlier, other) in topics[..<i] where other == topic {
        if let n = m.node(key) ?? m.node(earlier) {
          throw n.error("\(earlier) and \(key) must be different topics")
        }
      }
    }
    if let security = m.node("security") { try readSecurity(security) }
  }

  private mutating func readSecurity(_ node: ConfigNode) throws(ConfigError) {
    let s = try node.mapping(allowedKeys: ["protocol", "sasl", "tls"])
    let name = try s.oneOf(
      "protocol", allowed: SecurityProtocol.allCases.map(\.rawValue),
      default: SecurityProtocol.plaintext.rawValue)
    securityProtocol = SecurityProtocol(rawValue: name) ?? .plaintext
    if let sasl = s.node("sasl") {
      guard securityProtocol.usesSASL else {
        throw sasl.error(
          "sasl is used only with protocol sasl_plaintext or sasl_ssl (protocol is \(name))")
      }
      let a = try sasl.mapping(allowedKeys: ["mechanism", "username", "password"])
      let mechanism = try a.oneOf(
        "mechanism", allowed: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], default: "PLAIN")
      self.sasl = SASL(
        mechanism: mechanism, username: try a.string("username"),
        password: try a.string("password"))
    } else if securityProtocol.usesSASL {
      throw (s.node("protocol") ?? node).error(
        "protocol \(name) needs sasl: { mechanism, username, password }")
    }
    if let tlsNode = s.node("tls") {
      guard securityProtocol.usesTLS else {
        throw tlsNode.error("tls is used only with protocol ssl or sasl_ssl (protocol is \(name))")
      }
      let t = try tlsNode.mapping(allowedKeys: ["ca", "cert", "key"])
      let tls = TLS(
        ca: try t.optionalString("ca"), cert: try t.optionalString("cert"),
        key: try t.optionalString("key"))
      if (tls.cert == nil) != (tls.key == nil) {
        throw tlsNode.error("cert and key go together (a client certificate and its key)")
      }
      self.tls = tls
    } else if securityProtocol.usesTLS {
      tls = TLS()
    }
  }

  /// `bootstrap`: a list of `host:port` (or one string, commas between brokers).
  static func brokers(_ node: ConfigNode) throws(ConfigError) -> [Broker] {
    var items: [(node: ConfigNode, text: String)] = []
    if case .scalar(let text) = node.content {
      for part in text.split(separator: ",") {
        items.append((node, part.trimmingCharacters(in: .whitespaces)))
      }
    } else {
      for item in try node.list() { items.append((item, try item.string())) }
    }
    guard !items.isEmpty else {
      throw node.error("bootstrap needs at least one broker (host:port)")
    }
    var brokers: [Broker] = []
    for (item, text) in items {
      guard let colon = text.lastIndex(of: ":"),
        let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
      else {
        throw item.error("expected host:port like 127.0.0.1:9092, got '\(text)'")
      }
      var host = String(text[..<colon])
      if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
      guard !host.isEmpty else {
        throw item.error("expected host:port like 127.0.0.1:9092, got '\(text)'")
      }
      brokers.append(Broker(host: host, port: port))
    }
    return brokers
  }

  /// A Kafka topic name (``TopicName``): 1–249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
  static func topicName(_ m: ConfigMapping, _ key: String, default value: String)
    throws(ConfigError) -> String
  {
    guard let n = m.node(key) else { return value }
    let name = try n.string()
    guard TopicName.problem(with: name) == nil else {
      throw n.error(
        "\(key) must be a Kafka topic name (1 to 249 of letters, digits, '.', '_', '-'), got '\(name)'"
      )
    }
    return name
  }
}
