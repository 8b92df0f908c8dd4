import SluiceKafka

/// TLS settings for connections to the brokers (swift-nio-ssl): the CA that signed the
/// brokers' certificates and, for mutual TLS, the client's certificate and key (PEM files).
public struct KafkaTLSConfiguration: Sendable, Equatable {
  /// PEM file of the CA(s) to trust; nil trusts the system's roots.
  public var caFile: String?
  /// PEM certificate chain presented to the broker, for mutual TLS.
  public var certificateFile: String?
  /// PEM private key of ``certificateFile``.
  public var privateKeyFile: String?
  /// Whether to check the broker's host name against its certificate (on by default).
  public var verifyHostname: Bool

  /// TLS with the given files; all optional.
  public init(
    caFile: String? = nil, certificateFile: String? = nil, privateKeyFile: String? = nil,
    verifyHostname: Bool = true
  ) {
    self.caFile = caFile
    self.certificateFile = certificateFile
    self.privateKeyFile = privateKeyFile
    self.verifyHostname = verifyHostname
  }
}

/// SASL credentials (the mechanism is ``SASLMechanism``, shared with the listener), sent with SaslHandshake + SaslAuthenticate after ApiVersions.
public struct KafkaSASLConfiguration: Sendable, Equatable {
  /// The mechanism.
  public var mechanism: SASLMechanism
  /// The user name.
  public var username: String
  /// The password.
  public var password: String

  /// Credentials for `mechanism`.
  public init(mechanism: SASLMechanism, username: String, password: String) {
    self.mechanism = mechanism
    self.username = username
    self.password = password
  }
}
