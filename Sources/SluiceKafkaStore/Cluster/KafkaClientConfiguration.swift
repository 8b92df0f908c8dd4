import SluiceKafka

/// How a ``KafkaClient`` reaches and talks to a cluster.
public struct KafkaClientConfiguration: Sendable {
  /// Brokers to learn the cluster from; any one answering is enough.
  public var bootstrap: [BrokerAddress]
  /// The client id sent in every request header.
  public var clientId: String
  /// TLS, or nil for plaintext.
  public var tls: KafkaTLSConfiguration?
  /// SASL credentials, or nil for none.
  public var sasl: KafkaSASLConfiguration?
  /// How long a TCP (and TLS) connect may take.
  public var connectTimeout: Duration
  /// How long a request may wait for its response, beyond any time the request itself asks
  /// the broker to wait (a fetch's max wait, a join's rebalance timeout).
  public var requestTimeout: Duration
  /// Metadata older than this is refreshed before it is used.
  public var metadataMaxAge: Duration
  /// The first wait before a retry; it doubles up to ``retryBackoffMax``.
  public var retryBackoff: Duration
  /// The longest wait between retries.
  public var retryBackoffMax: Duration
  /// How long an operation keeps retrying transient errors before it gives up.
  public var retryTimeout: Duration
  /// The largest response frame accepted.
  public var maxResponseBytes: Int
  /// The highest version to use per API, below what both sides support (for old brokers'
  /// quirks, and for tests of older versions).
  public var versionCaps: [ApiKey: Int16]

  /// A configuration for `bootstrap` with Kafka-like defaults.
  public init(
    bootstrap: [BrokerAddress], clientId: String = "sluice", tls: KafkaTLSConfiguration? = nil,
    sasl: KafkaSASLConfiguration? = nil, connectTimeout: Duration = .seconds(10),
    requestTimeout: Duration = .seconds(30), metadataMaxAge: Duration = .seconds(300),
    retryBackoff: Duration = .milliseconds(100), retryBackoffMax: Duration = .seconds(1),
    retryTimeout: Duration = .seconds(60), maxResponseBytes: Int = 128 << 20,
    versionCaps: [ApiKey: Int16] = [:]
  ) {
    self.bootstrap = bootstrap
    self.clientId = clientId
    self.tls = tls
    self.sasl = sasl
    self.connectTimeout = connectTimeout
    self.requestTimeout = requestTimeout
    self.metadataMaxAge = metadataMaxAge
    self.retryBackoff = retryBackoff
    self.retryBackoffMax = retryBackoffMax
    self.retryTimeout = retryTimeout
    self.maxResponseBytes = maxResponseBytes
    self.versionCaps = versionCaps
  }
}
