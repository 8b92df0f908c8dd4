import Foundation

/// What both ends of a SCRAM exchange (RFC 5802) compute: the keys derived from a salted
/// password, the attribute syntax of the messages, user-name escaping and nonces. Sluice's
/// client (`SASLConversation`) and its listener's server side use these, so the two cannot
/// disagree on a byte.
public enum SCRAM {
  /// The keys of RFC 5802 §3 for one salted password.
  public struct Keys: Sendable, Equatable {
    /// ClientKey = HMAC(SaltedPassword, "Client Key"); only the client knows it.
    public var clientKey: [UInt8]
    /// StoredKey = H(ClientKey): what a server keeps to check a client proof.
    public var storedKey: [UInt8]
    /// ServerKey = HMAC(SaltedPassword, "Server Key"): what a server signs with.
    public var serverKey: [UInt8]

    /// The keys of `saltedPassword` (Hi(password, salt, iterations)) under `hash`.
    public init(saltedPassword: [UInt8], hash: SCRAMHash) {
      clientKey = hash.hmac(key: saltedPassword, Array("Client Key".utf8))
      storedKey = hash.hash(clientKey)
      serverKey = hash.hmac(key: saltedPassword, Array("Server Key".utf8))
    }

    /// The keys of `password` with `salt` and `iterations`.
    public init(password: String, salt: [UInt8], iterations: Int, hash: SCRAMHash) {
      self.init(
        saltedPassword: hash.hi(password: Array(password.utf8), salt: salt, iterations: iterations),
        hash: hash)
    }
  }

  /// The fewest iterations Kafka accepts for SCRAM credentials (and what Sluice uses).
  public static let minimumIterations = 4096

  /// ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage).
  public static func clientProof(keys: Keys, authMessage: [UInt8], hash: SCRAMHash) -> [UInt8] {
    zip(keys.clientKey, hash.hmac(key: keys.storedKey, authMessage)).map { $0 ^ $1 }
  }

  /// ServerSignature = HMAC(ServerKey, AuthMessage).
  public static func serverSignature(serverKey: [UInt8], authMessage: [UInt8], hash: SCRAMHash)
    -> [UInt8]
  {
    hash.hmac(key: serverKey, authMessage)
  }

  /// Whether `proof` proves knowledge of the password whose StoredKey is `storedKey`:
  /// H(proof XOR HMAC(StoredKey, AuthMessage)) == StoredKey, compared in constant time.
  public static func verify(
    proof: [UInt8], storedKey: [UInt8], authMessage: [UInt8], hash: SCRAMHash
  ) -> Bool {
    let signature = hash.hmac(key: storedKey, authMessage)
    guard proof.count == signature.count else { return false }
    let clientKey = zip(proof, signature).map { $0 ^ $1 }
    return constantTimeEqual(hash.hash(clientKey), storedKey)
  }

  /// Equality of two byte strings whose time depends only on their lengths.
  public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
  }

  /// `,` and `=` in a user name are written `=2C` and `=3D` (RFC 5802 §5.1).
  public static func saslName(_ name: String) -> String {
    name.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
  }

  /// The user name a `saslname` stands for; nil when a `=` starts anything but `=2C` or `=3D`
  /// (RFC 5802 §5.1: the server must then fail the authentication).
  public static func userName(fromSASLName name: Substring) -> String? {
    var result = ""
    var rest = name
    while let equals = rest.firstIndex(of: "=") {
      result += rest[..<equals]
      let escape = rest[equals...].prefix(3)
      switch escape {
      case "=2C": result += ","
      case "=3D": result += "="
      default: return nil
      }
      rest = rest[escape.endIndex...]
    }
    return result + rest
  }

  /// The attributes of a message, `a=1,b=2`, in order (values may contain `=`); parts that are
  /// not a one-letter name, `=` and a value are dropped.
  public static func attributes(_ message: Substring) -> [(name: Character, value: Substring)] {
    message.split(separator: ",", omittingEmptySubsequences: false).compactMap { part in
      guard part.count >= 2, let name = part.first, name.isLetter,
        part[part.index(after: part.startIndex)] == "="
      else { return nil }
      return (name, part.dropFirst(2))
    }
  }

  /// The attributes of a message as a dictionary (the first of a repeated name wins).
  public static func attributeDictionary(_ message: String) -> [String: String] {
    var result: [String: String] = [:]
    for (name, value) in attributes(Substring(message)) where result[String(name)] == nil {
      result[String(name)] = String(value)
    }
    return result
  }

  /// Base64 text as bytes, nil if it is not base64.
  public static func base64(_ text: some StringProtocol) -> [UInt8]? {
    Data(base64Encoded: String(text)).map { Array($0) }
  }

  /// Bytes as base64 text.
  public static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

  /// A fresh nonce: 24 random bytes as base64 (printable, no `,`).
  public static func randomNonce() -> String { base64(randomBytes(24)) }

  /// `count` bytes from the system's secure generator.
  public static func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
  }
}
