import Foundation
import SluiceKafka

/// One SASL authentication as a state machine: the client's messages for PLAIN (RFC 4616) or
/// SCRAM (RFC 5802 / RFC 7677), and the check of the server's. It does no I/O; the connection
/// carries each message in a SaslAuthenticate request and feeds back the answer.
public struct SASLConversation: Sendable {
  /// What to do next.
  public enum Action: Sendable, Equatable {
    /// Send these bytes (a SaslAuthenticate request's auth bytes).
    case send([UInt8])
    /// Authenticated.
    case done
    /// Authentication failed, for this reason.
    case fail(String)
  }

  private enum State: Sendable {
    case initial
    case plainSent
    /// SCRAM: the client-first message went out.
    case clientFirstSent(clientFirstBare: String)
    /// SCRAM: the client proof went out; the server must prove it knows the password too.
    case clientFinalSent(serverSignature: [UInt8])
    case done
    case failed
  }

  private let mechanism: SASLMechanism
  private let username: String
  private let password: String
  private let nonce: String
  private var state = State.initial
  /// SHA-1 instead of the mechanism's hash: only for RFC 5802's test vector.
  private var hashOverride: SCRAMHash?

  /// A conversation for `mechanism`; `nonce` (SCRAM's client nonce) is random unless given.
  public init(
    mechanism: SASLMechanism, username: String, password: String, nonce: String? = nil
  ) {
    self.mechanism = mechanism
    self.username = username
    self.password = password
    self.nonce = nonce ?? SCRAM.randomNonce()
  }

  /// SCRAM-SHA-1 with a fixed nonce, for RFC 5802's test vector.
  static func scramSHA1(username: String, password: String, nonce: String) -> SASLConversation {
    var conversation = SASLConversation(
      mechanism: .scramSHA256, username: username, password: password, nonce: nonce)
    conversation.hashOverride = .sha1
    return conversation
  }

  private var hash: SCRAMHash {
    hashOverride ?? mechanism.scramHash ?? .sha256
  }

  /// The client's first message.
  public mutating func start() -> Action {
    guard case .initial = state else { return fail("start called twice") }
    switch mechanism {
    case .plain:
      state = .plainSent
      return .send([0] + Array(username.utf8) + [0] + Array(password.utf8))
    case .scramSHA256, .scramSHA512:
      let bare = "n=\(SCRAM.saslName(username)),r=\(nonce)"
      state = .clientFirstSent(clientFirstBare: bare)
      return .send(Array("n,,\(bare)".utf8))
    }
  }

  /// The server's answer (a SaslAuthenticate response's auth bytes).
  public mutating func received(_ bytes: [UInt8]) -> Action {
    switch state {
    case .plainSent:
      state = .done
      return .done
    case .clientFirstSent(let clientFirstBare):
      return receivedServerFirst(String(decoding: bytes, as: UTF8.self), clientFirstBare)
    case .clientFinalSent(let expected):
      let message = String(decoding: bytes, as: UTF8.self)
      let attributes = SCRAM.attributeDictionary(message)
      if let error = attributes["e"] { return fail("server: \(error)") }
      guard let verifier = attributes["v"], let signature = SCRAM.base64(verifier) else {
        return fail("server-final message without a verifier: \(message)")
      }
      guard signature == expected else {
        return fail("the server's signature does not match: it does not know the password")
      }
      state = .done
      return .done
    case .initial, .done, .failed:
      return fail("unexpected server message")
    }
  }

  private mutating func receivedServerFirst(_ message: String, _ clientFirstBare: String)
    -> Action
  {
    let attributes = SCRAM.attributeDictionary(message)
    if let error = attributes["e"] { return fail("server: \(error)") }
    guard let serverNonce = attributes["r"], let saltText = attributes["s"],
      let salt = SCRAM.base64(saltText), let iterationsText = attributes["i"],
      let iterations = Int(iterationsText), iterations > 0
    else { return fail("malformed server-first message: \(message)") }
    // A hostile or broken server could ask for billions of rounds and hang the connection;
    // librdkafka draws the line at a million too.
    guard iterations <= 1_000_000 else {
      return fail("the server asks for \(iterations) SCRAM iterations (at most 1000000)")
    }
    guard serverNonce.hasPrefix(nonce), serverNonce.count > nonce.count else {
      return fail("the server's nonce does not extend the client's")
    }
    let keys = SCRAM.Keys(
      password: password, salt: salt, iterations: iterations, hash: hash)
    // "biws" is base64("n,,"): no channel binding, no authorization identity.
    let withoutProof = "c=biws,r=\(serverNonce)"
    let authMessage = Array("\(clientFirstBare),\(message),\(withoutProof)".utf8)
    let proof = SCRAM.clientProof(keys: keys, authMessage: authMessage, hash: hash)
    state = .clientFinalSent(
      serverSignature: SCRAM.serverSignature(
        serverKey: keys.serverKey, authMessage: authMessage, hash: hash))
    return .send(Array("\(withoutProof),p=\(SCRAM.base64(proof))".utf8))
  }

  private mutating func fail(_ reason: String) -> Action {
    state = .failed
    return .fail(reason)
  }
}
