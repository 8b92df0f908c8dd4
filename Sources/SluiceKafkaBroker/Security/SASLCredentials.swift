import SluiceCore
import SluiceKafka

/// The listener's users as the SASL server checks them, derived once at start-up from
/// `kafka.sasl`: for SCRAM, per user and mechanism, a random salt, 4096 iterations and the
/// StoredKey and ServerKey of RFC 5802 (the password itself is not kept here); for PLAIN, a
/// keyed digest of the password compared in constant time.
public struct SASLCredentials: Sendable {
  /// One user's SCRAM credential for one mechanism.
  public struct SCRAMCredential: Sendable, Equatable {
    public var salt: [UInt8]
    public var iterations: Int
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]
  }

  /// The enabled mechanisms, in the configured order.
  public let mechanisms: [SASLMechanism]
  private let scram: [SASLMechanism: [String: SCRAMCredential]]
  private let plainDigests: [String: [UInt8]]
  /// The key of the PLAIN digests and of made-up salts for unknown users (random per start).
  private let secret: [UInt8]
  private let iterations: Int

  /// Credentials for `config`; `iterations` is SCRAM's (at least 4096, Kafka's minimum).
  public init(_ config: KafkaListenerSASL, iterations: Int = SCRAM.minimumIterations) {
    mechanisms = config.mechanisms.compactMap(SASLMechanism.init(rawValue:))
    secret = SCRAM.randomBytes(32)
    self.iterations = max(iterations, SCRAM.minimumIterations)
    var scram: [SASLMechanism: [String: SCRAMCredential]] = [:]
    for mechanism in mechanisms {
      guard let hash = mechanism.scramHash else { continue }
      var users: [String: SCRAMCredential] = [:]
      for user in config.users {
        let salt = SCRAM.randomBytes(24)
        let keys = SCRAM.Keys(
          password: user.password, salt: salt, iterations: self.iterations, hash: hash)
        users[user.username] = SCRAMCredential(
          salt: salt, iterations: self.iterations, storedKey: keys.storedKey,
          serverKey: keys.serverKey)
      }
      scram[mechanism] = users
    }
    self.scram = scram
    var plain: [String: [UInt8]] = [:]
    if mechanisms.contains(.plain) {
      for user in config.users {
        plain[user.username] = SCRAMHash.sha256.hmac(key: secret, Array(user.password.utf8))
      }
    }
    plainDigests = plain
  }

  /// Whether `mechanism` is enabled.
  public func enables(_ mechanism: SASLMechanism) -> Bool { mechanisms.contains(mechanism) }

  /// Whether `password` is `username`'s (PLAIN). Takes about as long for an unknown user.
  func verifyPlain(username: String, password: [UInt8]) -> Bool {
    let given = SCRAMHash.sha256.hmac(key: secret, password)
    guard let expected = plainDigests[username] else {
      _ = SCRAM.constantTimeEqual(given, given)
      return false
    }
    return SCRAM.constantTimeEqual(given, expected)
  }

  /// `username`'s SCRAM credential for `mechanism`; for an unknown user, a made-up one with a
  /// salt that stays the same for that name, so the server-first message does not tell a
  /// client which users exist (the proof then fails like a wrong password).
  func scramCredential(_ mechanism: SASLMechanism, username: String) -> (
    credential: SCRAMCredential, known: Bool
  ) {
    if let credential = scram[mechanism]?[username] { return (credential, true) }
    let hash = mechanism.scramHash ?? .sha256
    let salt = Array(hash.hmac(key: secret, Array("salt:\(username)".utf8)).prefix(24))
    let unusable = hash.hmac(key: secret, Array("key:\(username)".utf8))
    return (
      SCRAMCredential(
        salt: salt, iterations: iterations, storedKey: unusable,
        serverKey: unusable), false
    )
  }
}
