import Foundation
import SluiceCore
import SluiceKafka
import XCTest

@testable import SluiceKafkaBroker
@testable import SluiceKafkaStore

/// The listener's SASL state machine without a socket: Sluice's own client conversation
/// (SluiceKafkaStore's SASLConversation) against it for each mechanism, wrong passwords,
/// unknown users, and hostile input — garbage frames, steps out of order — which must end in
/// an answer or a close, never a crash.
final class SASLServerSessionTests: XCTestCase {
  private static let config = KafkaListenerSASL(
    mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"],
    users: [.init(username: "alice", password: "s3cret"), .init(username: "b,o=b", password: "pw")])
  private static let credentials = SASLCredentials(config)

  // MARK: - Frames as a client sends them

  private func request<Request: KafkaRequestMessage>(
    _ body: Request, version: Int16, correlationId: Int32 = 7
  ) -> [UInt8] {
    var writer = KafkaWriter(capacity: 64)
    writer.writeInt16(Request.apiKey.rawValue)
    writer.writeInt16(version)
    writer.writeInt32(correlationId)
    writer.writeString("test")
    if Request.apiKey.requestHeaderVersion(for: version) >= 2 {
      writer.writeTaggedFields(KafkaTaggedFields())
    }
    body.write(to: &writer, version: version)
    return writer.bytes
  }

  private func handshake(_ mechanism: String, version: Int16 = 1) -> [UInt8] {
    request(SaslHandshakeRequest(mechanism: mechanism), version: version)
  }

  private func authenticate(_ bytes: [UInt8], version: Int16 = 2) -> [UInt8] {
    request(SaslAuthenticateRequest(authBytes: bytes), version: version)
  }

  /// The response in `frame` (size, correlation id, header tags, body), checking the size.
  private func decode<Response: KafkaResponseMessage>(
    _ frame: [UInt8], as _: Response.Type, version: Int16
  ) throws -> Response {
    var reader = KafkaReader(frame)
    XCTAssertEqual(Int(try reader.readInt32(field: "size")), frame.count - 4)
    XCTAssertEqual(try reader.readInt32(field: "correlation id"), 7)
    if Response.apiKey.responseHeaderVersion(for: version) >= 1 {
      try reader.readTaggedFields(field: "header") { _, _ in }
    }
    return try Response(from: &reader, version: version)
  }

  private func frame(_ action: SASLServerSession.Action) -> [UInt8]? {
    switch action {
    case .respond(let bytes), .respondAndClose(let bytes, _): bytes
    case .forward, .close: nil
    }
  }

  /// Runs Sluice's client conversation against a fresh session; returns the session and the
  /// last SaslAuthenticate response.
  private func run(
    _ mechanism: SASLMechanism, user: String = "alice", password: String = "s3cret"
  ) throws -> (SASLServerSession, SaslAuthenticateResponse, SASLConversation.Action) {
    var session = SASLServerSession(credentials: Self.credentials)
    XCTAssertEqual(session.received(frame: request(ApiVersionsRequest(), version: 3)), .forward)
    let handshakeAnswer = try decode(
      XCTUnwrap(frame(session.received(frame: handshake(mechanism.rawValue)))),
      as: SaslHandshakeResponse.self, version: 1)
    XCTAssertEqual(handshakeAnswer.errorCode, 0)
    XCTAssertEqual(handshakeAnswer.mechanisms, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    var client = SASLConversation(mechanism: mechanism, username: user, password: password)
    var action = client.start()
    var last = SaslAuthenticateResponse()
    while case .send(let bytes) = action {
      let answer = session.received(frame: authenticate(bytes))
      last = try decode(XCTUnwrap(frame(answer)), as: SaslAuthenticateResponse.self, version: 2)
      if last.errorCode != 0 {
        if case .respondAndClose = answer {} else { XCTFail("a failure must close: \(answer)") }
        break
      }
      action = client.received(last.authBytes)
    }
    return (session, last, action)
  }

  // MARK: - Each mechanism with Sluice's client

  func testEachMechanismAuthenticatesSluicesClient() throws {
    for mechanism in SASLMechanism.allCases {
      var (session, last, action) = try run(mechanism)
      XCTAssertEqual(last.errorCode, 0, "\(mechanism): \(last.errorMessage ?? "")")
      XCTAssertEqual(action, .done, "\(mechanism)")
      XCTAssertEqual(session.authenticatedUser, "alice", "\(mechanism)")
      // Authenticated: everything goes to the broker.
      XCTAssertEqual(
        session.received(frame: request(MetadataRequest(), version: 9)), .forward, "\(mechanism)")
    }
  }

  func testAUserNameWithCommaAndEqualsIsEscapedAndAccepted() throws {
    for mechanism in SASLMechanism.allCases {
      let (session, last, _) = try run(mechanism, user: "b,o=b", password: "pw")
      XCTAssertEqual(last.errorCode, 0, "\(mechanism): \(last.errorMessage ?? "")")
      XCTAssertEqual(session.authenticatedUser, "b,o=b")
    }
  }

  func testAWrongPasswordOrUnknownUserFailsWithSaslAuthenticationFailed() throws {
    for mechanism in SASLMechanism.allCases {
      for (user, password) in [("alice", "wrong"), ("mallory", "s3cret")] {
        var (session, last, _) = try run(mechanism, user: user, password: password)
        XCTAssertEqual(last.errorCode, KafkaErrorCode.saslAuthenticationFailed.rawValue)
        XCTAssertEqual(
          last.errorMessage,
          "Authentication failed: invalid username or password (SASL \(mechanism.rawValue))")
        XCTAssertFalse(last.errorMessage?.contains(password) ?? true)
        XCTAssertNil(session.authenticatedUser)
        guard case .close = session.received(frame: request(MetadataRequest(), version: 9)) else {
          return XCTFail("a failed session must stay closed")
        }
      }
    }
  }

  func testAnUnknownUsersSaltIsStableSoItDoesNotRevealWhoExists() throws {
    func salt(_ user: String) throws -> String? {
      var session = SASLServerSession(credentials: Self.credentials)
      _ = session.received(frame: handshake("SCRAM-SHA-256"))
      let answer = try decode(
        XCTUnwrap(frame(session.received(frame: authenticate(Array("n,,n=\(user),r=abc".utf8))))),
        as: SaslAuthenticateResponse.self, version: 2)
      return SCRAM.attributeDictionary(String(decoding: answer.authBytes, as: UTF8.self))["s"]
    }
    XCTAssertEqual(try salt("mallory"), try salt("mallory"))
    XCTAssertEqual(try salt("alice"), try salt("alice"))
    XCTAssertNotEqual(try salt("mallory"), try salt("alice"))
  }

  func testAnUnsupportedMechanismListsTheEnabledOnesAndCloses() throws {
    var session = SASLServerSession(
      credentials: SASLCredentials(
        KafkaListenerSASL(
          mechanisms: ["SCRAM-SHA-512"], users: [.init(username: "a", password: "b")])))
    let action = session.received(frame: handshake("PLAIN"))
    guard case .respondAndClose(let bytes, let reason) = action else {
      return XCTFail("\(action)")
    }
    let answer = try decode(bytes, as: SaslHandshakeResponse.self, version: 1)
    XCTAssertEqual(answer.errorCode, KafkaErrorCode.unsupportedSaslMechanism.rawValue)
    XCTAssertEqual(answer.mechanisms, ["SCRAM-SHA-512"])
    XCTAssertTrue(reason.contains("SCRAM-SHA-512"), reason)
  }

  func testApiVersionsAdvertisesTheSASLAPIsOnlyWithSASL() {
    let without = Set(KafkaBroker.advertisedVersions(sasl: false).map(\.apiKey))
    let with = KafkaBroker.advertisedVersions(sasl: true)
    XCTAssertFalse(without.contains(17) || without.contains(36))
    XCTAssertEqual(Set(with.map(\.apiKey)), without.union([17, 36]))
    XCTAssertEqual(with.first { $0.apiKey == 17 }.map { [$0.minVersion, $0.maxVersion] }, [0, 1])
    XCTAssertEqual(with.first { $0.apiKey == 36 }.map { [$0.minVersion, $0.maxVersion] }, [0, 2])
  }

  // MARK: - Out of order and hostile input

  func testRequestsBeforeAuthenticationCloseTheConnection() {
    for frame in [
      request(MetadataRequest(), version: 9),
      request(ProduceRequest(), version: 9),
      request(FetchRequest(), version: 12),
    ] {
      var session = SASLServerSession(credentials: Self.credentials)
      guard case .close = session.received(frame: frame) else {
        return XCTFail("a request before authentication must close")
      }
      // And stays closed, even for what would have been allowed.
      guard case .close = session.received(frame: handshake("PLAIN")) else {
        return XCTFail("closed sessions stay closed")
      }
    }
    // Also after the handshake, before SaslAuthenticate finishes.
    var session = SASLServerSession(credentials: Self.credentials)
    _ = session.received(frame: handshake("SCRAM-SHA-256"))
    _ = session.received(frame: authenticate(Array("n,,n=alice,r=abc".utf8)))
    guard case .close = session.received(frame: request(MetadataRequest(), version: 9)) else {
      return XCTFail("a request mid-exchange must close")
    }
  }

  func testStepsOutOfOrderAreRefusedWithIllegalSaslState() throws {
    var session = SASLServerSession(credentials: Self.credentials)
    guard case .respondAndClose(let bytes, _) = session.received(frame: authenticate([0, 1, 2]))
    else { return XCTFail("SaslAuthenticate before SaslHandshake") }
    XCTAssertEqual(
      try decode(bytes, as: SaslAuthenticateResponse.self, version: 2).errorCode,
      KafkaErrorCode.illegalSaslState.rawValue)

    var twice = SASLServerSession(credentials: Self.credentials)
    _ = twice.received(frame: handshake("PLAIN"))
    guard case .respondAndClose(let again, _) = twice.received(frame: handshake("PLAIN")) else {
      return XCTFail("a second SaslHandshake")
    }
    XCTAssertEqual(
      try decode(again, as: SaslHandshakeResponse.self, version: 1).errorCode,
      KafkaErrorCode.illegalSaslState.rawValue)
  }

  func testSaslHandshakeV0IsRefusedAsUnsupportedVersion() throws {
    var session = SASLServerSession(credentials: Self.credentials)
    guard
      case .respondAndClose(let bytes, _) = session.received(frame: handshake("PLAIN", version: 0))
    else { return XCTFail("v0 handshake") }
    XCTAssertEqual(
      try decode(bytes, as: SaslHandshakeResponse.self, version: 0).errorCode,
      KafkaErrorCode.unsupportedVersion.rawValue)
  }

  func testMalformedSCRAMAndPLAINMessagesFail() throws {
    let cases: [(String, [[UInt8]])] = [
      (
        "PLAIN",
        [
          [], [0], [0, 0], Array("alice".utf8), [0] + Array("alice".utf8) + [0],
          Array("bob\0alice\0s3cret".utf8), [0xFF, 0, 0x61, 0, 0x62], [0, 0, 0, 0, 0],
        ]
      ),
      (
        "SCRAM-SHA-256",
        [
          [], Array("n,,".utf8), Array("p=tls-unique,,n=alice,r=x".utf8),
          Array("n,,r=x,n=alice".utf8), Array("n,,n=alice,r=".utf8),
          Array("n,,n=al=ZZice,r=abc".utf8), Array("n,a=bob,n=alice,r=abc".utf8),
          Array("n,,n=alice,r=a,bc".utf8), [0xC3, 0x28], Array("n,,n=,r=abc".utf8),
        ]
      ),
    ]
    for (mechanism, messages) in cases {
      for message in messages {
        var session = SASLServerSession(credentials: Self.credentials)
        _ = session.received(frame: handshake(mechanism))
        let action = session.received(frame: authenticate(message))
        guard case .respondAndClose(let bytes, _) = action else {
          XCTFail("\(mechanism) \(message): \(action)")
          continue
        }
        XCTAssertEqual(
          try decode(bytes, as: SaslAuthenticateResponse.self, version: 2).errorCode,
          KafkaErrorCode.saslAuthenticationFailed.rawValue, "\(mechanism) \(message)")
      }
    }
  }

  func testATamperedSCRAMClientFinalFails() throws {
    let finals = [
      "c=biws,r=WRONG,p=AAAA",
      "c=eSws,r=%NONCE%,p=AAAA",  // "y,," instead of the "n,," the client sent
      "c=biws,r=%NONCE%,p=not base64!",
      "c=biws,r=%NONCE%,p=",
      "c=biws,r=%NONCE%",
      "r=%NONCE%,c=biws,p=AAAA",
      "c=biws,r=%NONCE%,p=\(Data(repeating: 0, count: 32).base64EncodedString())",
    ]
    for final in finals {
      var session = SASLServerSession(credentials: Self.credentials, nonce: { "SERVER" })
      _ = session.received(frame: handshake("SCRAM-SHA-256"))
      _ = session.received(frame: authenticate(Array("n,,n=alice,r=client".utf8)))
      let message = final.replacingOccurrences(of: "%NONCE%", with: "clientSERVER")
      let action = session.received(frame: authenticate(Array(message.utf8)))
      guard case .respondAndClose = action else {
        XCTFail("\(final): \(action)")
        continue
      }
      XCTAssertNil(session.authenticatedUser)
    }
  }

  /// Random frames, random frames with a SASL header, and random auth bytes at every step:
  /// the session must answer or close, never trap.
  func testGarbageNeverCrashes() {
    var generator = SplitMix(seed: 0x5A5A)
    func bytes(_ count: Int) -> [UInt8] {
      (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
    for round in 0..<3000 {
      var session = SASLServerSession(credentials: Self.credentials)
      let mechanism = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", ""][round % 5]
      for step in 0..<4 {
        let length = Int.random(in: 0...48, using: &generator)
        let frame: [UInt8]
        switch (round + step) % 4 {
        case 0: frame = bytes(length)
        case 1: frame = handshake(mechanism)
        case 2: frame = authenticate(bytes(length), version: Int16(step % 3))
        default:
          // A SASL header with a random version and a random body.
          frame =
            [
              0, UInt8.random(in: 0...1, using: &generator) == 0 ? 17 : 36, 0,
              UInt8.random(in: 0...5, using: &generator), 0, 0, 0, 1, 0xFF, 0xFF,
            ] + bytes(length)
        }
        if case .forward = session.received(frame: frame), session.authenticatedUser == nil {
          // Only ApiVersions may pass before authentication.
          XCTAssertEqual(frame.prefix(2), [0, 18])
        }
      }
      XCTAssertNil(session.authenticatedUser)
    }
  }
}

/// A seeded generator, so a failure repeats.
private struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
