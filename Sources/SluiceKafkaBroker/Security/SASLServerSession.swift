import SluiceKafka

/// One connection's SASL authentication on the listener, as a state machine over request
/// frames: unauthenticated → handshake done (mechanism) → [SCRAM: server-first sent] →
/// authenticated. It does no I/O; the listener runs each frame through ``received(frame:)``
/// and executes the returned ``Action``.
///
/// Until the client is authenticated only ApiVersions, SaslHandshake (v1) and SaslAuthenticate
/// are answered; any other request closes the connection, as Kafka does. A failed
/// authentication is answered (SASL_AUTHENTICATION_FAILED with a message, or
/// UNSUPPORTED_SASL_MECHANISM listing the enabled mechanisms) and the connection closed.
public struct SASLServerSession: Sendable {
  /// What the listener does with a frame.
  public enum Action: Sendable, Equatable {
    /// Let the broker answer it (ApiVersions, or any request once authenticated).
    case forward
    /// Send this response frame (size prefix included).
    case respond([UInt8])
    /// Send this response frame, then close the connection for `reason`.
    case respondAndClose([UInt8], reason: String)
    /// Close the connection for `reason`, answering nothing.
    case close(String)
  }

  private enum State: Sendable {
    case unauthenticated
    case handshakeDone(SASLMechanismExchange)
    case authenticated(user: String)
    case closed
  }

  private let credentials: SASLCredentials
  private let nonce: @Sendable () -> String
  private var state = State.unauthenticated

  /// A session checking against `credentials`; `nonce` makes SCRAM's server nonces.
  public init(
    credentials: SASLCredentials, nonce: @escaping @Sendable () -> String = SCRAM.randomNonce
  ) {
    self.credentials = credentials
    self.nonce = nonce
  }

  /// The user the connection authenticated as, once it has.
  public var authenticatedUser: String? {
    if case .authenticated(let user) = state { return user }
    return nil
  }

  /// The mechanism of the exchange under way, if a handshake chose one.
  var mechanismInProgress: SASLMechanism? {
    if case .handshakeDone(let exchange) = state { return exchange.mechanism }
    return nil
  }

  /// Decides what to do with one request frame (the bytes after its size prefix).
  public mutating func received(frame: [UInt8]) -> Action {
    if case .authenticated = state { return .forward }
    if case .closed = state { return .close("the connection failed authentication") }
    let request: RequestFrame
    do {
      request = try RequestFrame(parsing: frame)
    } catch {
      return close("malformed request header before authentication: \(error)")
    }
    switch ApiKey(rawValue: request.apiKeyValue) {
    case .apiVersions: return .forward
    case .saslHandshake: return handshake(request)
    case .saslAuthenticate: return authenticate(request)
    default:
      return close(
        "API key \(request.apiKeyValue) before SASL authentication (only ApiVersions, SaslHandshake and SaslAuthenticate are answered)"
      )
    }
  }

  private mutating func handshake(_ request: RequestFrame) -> Action {
    let version = request.apiVersion
    let enabled = credentials.mechanisms.map(\.rawValue)
    func answer(_ error: KafkaErrorCode) -> [UInt8] {
      ResponseFrame.encode(
        SaslHandshakeResponse(errorCode: error.rawValue, mechanisms: enabled),
        version: min(max(version, 0), 1), correlationId: request.correlationId)
    }
    guard case .unauthenticated = state else {
      return respondAndClose(answer(.illegalSaslState), "SaslHandshake out of order")
    }
    // v0 hands the connection over to raw SASL tokens; Sluice speaks SaslAuthenticate only.
    guard version == 1 else {
      return respondAndClose(
        answer(.unsupportedVersion), "SaslHandshake v\(version) (only v1 is supported)")
    }
    let mechanismName: String
    do {
      mechanismName = try request.decodeBody(as: SaslHandshakeRequest.self).mechanism
    } catch {
      return close("cannot decode SaslHandshake v\(version): \(error)")
    }
    guard let mechanism = SASLMechanism(rawValue: mechanismName),
      credentials.enables(mechanism)
    else {
      return respondAndClose(
        answer(.unsupportedSaslMechanism),
        "SASL mechanism '\(mechanismName.prefix(64))' is not enabled (enabled: \(enabled.joined(separator: ", ")))"
      )
    }
    state = .handshakeDone(
      SASLMechanismExchange(mechanism: mechanism, credentials: credentials, nonce: nonce))
    return .respond(answer(.none))
  }

  private mutating func authenticate(_ request: RequestFrame) -> Action {
    let version = request.apiVersion
    let answerVersion = min(max(version, 0), 2)
    func answer(_ error: KafkaErrorCode, _ message: String?, _ bytes: [UInt8] = []) -> [UInt8] {
      ResponseFrame.encode(
        SaslAuthenticateResponse(
          errorCode: error.rawValue, errorMessage: message, authBytes: bytes,
          sessionLifetimeMs: 0),
        version: answerVersion, correlationId: request.correlationId)
    }
    guard case .handshakeDone(var exchange) = state else {
      return respondAndClose(
        answer(.illegalSaslState, "SaslAuthenticate before a successful SaslHandshake"),
        "SaslAuthenticate out of order")
    }
    guard ApiKey.saslAuthenticate.decodableVersions.contains(version) else {
      return respondAndClose(
        answer(.unsupportedVersion, "SaslAuthenticate v\(version) is not supported"),
        "SaslAuthenticate v\(version)")
    }
    let authBytes: [UInt8]
    do {
      authBytes = try request.decodeBody(as: SaslAuthenticateRequest.self).authBytes
    } catch {
      return close("cannot decode SaslAuthenticate v\(version): \(error)")
    }
    switch exchange.received(authBytes) {
    case .challenge(let bytes):
      state = .handshakeDone(exchange)
      return .respond(answer(.none, nil, bytes))
    case .authenticated(let user, let reply):
      state = .authenticated(user: user)
      return .respond(answer(.none, nil, reply))
    case .failed(let message):
      return respondAndClose(
        answer(.saslAuthenticationFailed, message),
        "SASL \(exchange.mechanism.rawValue) authentication failed: \(message)")
    }
  }

  private mutating func respondAndClose(_ frame: [UInt8], _ reason: String) -> Action {
    state = .closed
    return .respondAndClose(frame, reason: reason)
  }

  private mutating func close(_ reason: String) -> Action {
    state = .closed
    return .close(reason)
  }
}
