import Foundation
import SluiceKafka

/// One client's authentication with one mechanism, server side: PLAIN (RFC 4616) in one
/// message, SCRAM (RFC 5802, RFC 7677) in two. A value; it does no I/O.
struct SASLMechanismExchange: Sendable {
  /// What the server does with a client message.
  enum Step: Sendable, Equatable {
    /// Send these bytes and wait for the client's next message.
    case challenge([UInt8])
    /// Authenticated as `user`; send these bytes (SCRAM's server-final message; empty for PLAIN).
    case authenticated(user: String, reply: [UInt8])
    /// Authentication failed; the message goes to the client (it names no secret).
    case failed(String)
  }

  private enum State: Sendable {
    case initial
    /// SCRAM: server-first sent; the client's proof is due.
    case serverFirstSent(
      user: String, known: Bool, gs2Header: String, nonce: String, authPrefix: String,
      credential: SASLCredentials.SCRAMCredential)
    case finished
  }

  let mechanism: SASLMechanism
  private let credentials: SASLCredentials
  private let makeNonce: @Sendable () -> String
  private var state = State.initial

  init(
    mechanism: SASLMechanism, credentials: SASLCredentials,
    nonce: @escaping @Sendable () -> String = SCRAM.randomNonce
  ) {
    self.mechanism = mechanism
    self.credentials = credentials
    self.makeNonce = nonce
  }

  /// The failure message Kafka clients show; the same for an unknown user and a wrong password.
  var invalidCredentials: String {
    "Authentication failed: invalid username or password (SASL \(mechanism.rawValue))"
  }

  /// The client's next message.
  mutating func received(_ bytes: [UInt8]) -> Step {
    switch state {
    case .initial:
      if mechanism == .plain { return finish(plain(bytes)) }
      return scramClientFirst(bytes)
    case .serverFirstSent(let user, let known, let gs2Header, let nonce, let prefix, let credential):
      return finish(
        scramClientFinal(
          bytes, user: user, known: known, gs2Header: gs2Header, nonce: nonce, authPrefix: prefix,
          credential: credential))
    case .finished:
      return .failed("Authentication failed: the SASL exchange is already over")
    }
  }

  private mutating func finish(_ step: Step) -> Step {
    state = .finished
    return step
  }

  // MARK: - PLAIN

  /// `[authzid] NUL authcid NUL passwd` (RFC 4616 §2); an authzid other than the user is refused.
  private func plain(_ bytes: [UInt8]) -> Step {
    let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
    guard parts.count == 3, let authzid = String(bytes: parts[0], encoding: .utf8),
      let user = String(bytes: parts[1], encoding: .utf8), !user.isEmpty, !parts[2].isEmpty,
      String(bytes: parts[2], encoding: .utf8) != nil
    else {
      return .failed(
        "Authentication failed: a PLAIN message is [authzid] NUL username NUL password")
    }
    guard authzid.isEmpty || authzid == user else {
      return .failed(
        "Authentication failed: the authorization id must be empty or the username")
    }
    guard credentials.verifyPlain(username: user, password: Array(parts[2])) else {
      return .failed(invalidCredentials)
    }
    return .authenticated(user: user, reply: [])
  }

  // MARK: - SCRAM

  /// `gs2-header client-first-bare`: `n,,n=user,r=nonce` (RFC 5802 §7).
  private mutating func scramClientFirst(_ bytes: [UInt8]) -> Step {
    guard let message = String(bytes: bytes, encoding: .utf8) else {
      return finish(.failed("Authentication failed: the SCRAM client-first message is not UTF-8"))
    }
    let parts = message.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3 else { return finish(malformed("client-first")) }
    switch parts[0] {
    case "n", "y": break
    default:
      return finish(.failed("Authentication failed: SCRAM channel binding is not supported"))
    }
    let bare = parts[2]
    let attributes = SCRAM.attributes(bare)
    guard attributes.count >= 2, attributes.count == bare.split(separator: ",").count,
      attributes[0].name == "n", attributes[1].name == "r",
      let user = SCRAM.userName(fromSASLName: attributes[0].value), !user.isEmpty
    else { return finish(malformed("client-first")) }
    let clientNonce = attributes[1].value
    guard !clientNonce.isEmpty,
      clientNonce.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: ",") })
    else { return finish(malformed("client-first")) }
    if !parts[1].isEmpty {
      guard parts[1].hasPrefix("a="), SCRAM.userName(fromSASLName: parts[1].dropFirst(2)) == user
      else {
        return finish(
          .failed("Authentication failed: the authorization id must be empty or the username"))
      }
    }
    let (credential, known) = credentials.scramCredential(mechanism, username: user)
    let nonce = String(clientNonce) + makeNonce()
    let serverFirst = "r=\(nonce),s=\(SCRAM.base64(credential.salt)),i=\(credential.iterations)"
    state = .serverFirstSent(
      user: user, known: known, gs2Header: "\(parts[0]),\(parts[1]),", nonce: nonce,
      authPrefix: "\(bare),\(serverFirst),", credential: credential)
    return .challenge(Array(serverFirst.utf8))
  }

  /// `c=<base64 gs2-header>,r=<nonce>,p=<proof>` (RFC 5802 §7); answers `v=<signature>`.
  private func scramClientFinal(
    _ bytes: [UInt8], user: String, known: Bool, gs2Header: String, nonce: String,
    authPrefix: String, credential: SASLCredentials.SCRAMCredential
  ) -> Step {
    guard let message = String(bytes: bytes, encoding: .utf8),
      let proofStart = message.range(of: ",p=", options: .backwards)
    else { return malformed("client-final") }
    let withoutProof = message[..<proofStart.lowerBound]
    let attributes = SCRAM.attributes(withoutProof)
    guard attributes.count >= 2, attributes[0].name == "c", attributes[1].name == "r",
      let binding = SCRAM.base64(attributes[0].value),
      let proof = SCRAM.base64(message[proofStart.upperBound...])
    else { return malformed("client-final") }
    guard binding == Array(gs2Header.utf8) else {
      return .failed("Authentication failed: SCRAM channel binding does not match the gs2 header")
    }
    // RFC 5802 wants exactly the server-first nonce back; librdkafka sends the client nonce
    // once more in front of it, and Kafka accepts any nonce that ends with its own (its
    // ScramSaslServer checks `endsWith`), so Sluice does too. The proof covers what was sent.
    guard attributes[1].value.hasSuffix(nonce) else {
      return .failed("Authentication failed: SCRAM nonce does not match")
    }
    guard let hash = mechanism.scramHash else { return malformed("client-final") }
    let authMessage = Array((authPrefix + withoutProof).utf8)
    guard
      SCRAM.verify(
        proof: proof, storedKey: credential.storedKey, authMessage: authMessage, hash: hash),
      known
    else { return .failed(invalidCredentials) }
    let signature = SCRAM.serverSignature(
      serverKey: credential.serverKey, authMessage: authMessage, hash: hash)
    return .authenticated(user: user, reply: Array("v=\(SCRAM.base64(signature))".utf8))
  }

  private func malformed(_ which: String) -> Step {
    .failed("Authentication failed: malformed SCRAM \(which) message")
  }
}
