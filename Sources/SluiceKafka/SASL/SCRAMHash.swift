import Crypto

/// The hash a SCRAM mechanism is built on, with the HMAC and Hi() (PBKDF2 with HMAC, one
/// block) that RFC 5802 defines over it.
public enum SCRAMHash: Sendable, Equatable {
  /// SHA-1: only for RFC 5802's own test vector; Kafka offers SHA-256 and SHA-512.
  case sha1
  /// SCRAM-SHA-256 (RFC 7677).
  case sha256
  /// SCRAM-SHA-512.
  case sha512

  /// H(data).
  public func hash(_ data: [UInt8]) -> [UInt8] {
    switch self {
    case .sha1: return Array(Insecure.SHA1.hash(data: data))
    case .sha256: return Array(SHA256.hash(data: data))
    case .sha512: return Array(SHA512.hash(data: data))
    }
  }

  /// HMAC(key, data).
  public func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
    let key = SymmetricKey(data: key)
    switch self {
    case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
    case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
    case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
    }
  }

  /// Hi(password, salt, iterations) of RFC 5802 §2.2: U1 = HMAC(password, salt + INT(1)),
  /// Ui = HMAC(password, Ui-1), and the result is U1 XOR … XOR Ui.
  public func hi(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
    var previous = hmac(key: password, salt + [0, 0, 0, 1])
    var result = previous
    if iterations > 1 {
      for _ in 2...iterations {
        previous = hmac(key: password, previous)
        for index in result.indices { result[index] ^= previous[index] }
      }
    }
    return result
  }
}
