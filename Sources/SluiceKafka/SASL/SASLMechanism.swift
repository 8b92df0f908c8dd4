/// A SASL mechanism, by the name Kafka gives it (`sasl.mechanism`, `sasl.enabled.mechanisms`):
/// the ones Sluice's client speaks and its listener accepts.
public enum SASLMechanism: String, Sendable, Equatable, Hashable, CaseIterable {
  /// RFC 4616: user name and password in one message (use it with TLS).
  case plain = "PLAIN"
  /// RFC 7677: salted challenge-response with HMAC-SHA-256.
  case scramSHA256 = "SCRAM-SHA-256"
  /// SCRAM with HMAC-SHA-512 (Kafka's KIP-84).
  case scramSHA512 = "SCRAM-SHA-512"

  /// The hash a SCRAM mechanism is built on; nil for PLAIN.
  public var scramHash: SCRAMHash? {
    switch self {
    case .plain: nil
    case .scramSHA256: .sha256
    case .scramSHA512: .sha512
    }
  }
}
