import XCTest

@testable import SluiceKafka

/// RequestFrame and ResponseFrame: the header a broker always understands, and bad frames as
/// errors — every prefix of a real request, random bytes and flipped bytes throw or decode,
/// never trap.
final class KafkaFrameTests: XCTestCase {
  func testProduceV0ParsesItsHeaderButIsNotDecodable() throws {
    var writer = KafkaWriter()
    RequestHeader(requestApiKey: 0, requestApiVersion: 2, correlationId: 77, clientId: "old")
      .write(to: &writer, version: 1)
    ProduceRequest(acks: 1, timeoutMs: 5).write(to: &writer, version: 2)
    let frame = try RequestFrame(parsing: writer.bytes)
    XCTAssertEqual(frame.apiKey, .produce)
    XCTAssertEqual(frame.apiVersion, 2)
    XCTAssertEqual(frame.correlationId, 77)
    XCTAssertEqual(frame.clientId, "old")
    XCTAssertFalse(frame.isDecodable)
    XCTAssertThrowsError(try frame.decodeBody()) { error in
      XCTAssertEqual((error as? KafkaDecodingError)?.reason, .unsupported(apiKey: 0, version: 2))
    }
  }

  /// KIP-511: a client may open with an ApiVersions version newer than the broker knows; the
  /// header still parses (as v2, like every flexible ApiVersions) so the broker can answer v0.
  func testApiVersionsNewerThanKnownStillParsesItsHeader() throws {
    var writer = KafkaWriter()
    RequestHeader(requestApiKey: 18, requestApiVersion: 9, correlationId: 12, clientId: "future")
      .write(to: &writer, version: 2)
    writer.writeRawBytes([0x03, 0x61, 0x62, 0x00])
    let frame = try RequestFrame(parsing: writer.bytes)
    XCTAssertEqual(frame.apiKey, .apiVersions)
    XCTAssertEqual(frame.headerVersion, 2)
    XCTAssertEqual(frame.correlationId, 12)
    XCTAssertEqual(frame.clientId, "future")
    XCTAssertFalse(frame.isDecodable)
    XCTAssertEqual(frame.body.remaining, 4)
  }

  func testUnknownApiKeyParsesAsHeaderV1() throws {
    var writer = KafkaWriter()
    RequestHeader(requestApiKey: 999, requestApiVersion: 0, correlationId: 5, clientId: nil)
      .write(to: &writer, version: 1)
    let frame = try RequestFrame(parsing: writer.bytes)
    XCTAssertNil(frame.apiKey)
    XCTAssertEqual(frame.apiKeyValue, 999)
    XCTAssertNil(frame.clientId)
    XCTAssertEqual(frame.headerVersion, 1)
    XCTAssertThrowsError(try frame.decodeBody())
  }

  func testResponseFrameUsesHeaderV1ForFlexibleResponses() {
    let response = HeartbeatResponse(
      throttleTimeMs: 0, errorCode: KafkaErrorCode.rebalanceInProgress.rawValue)
    // v4 is flexible: correlation ID, empty tagged fields, then the body.
    XCTAssertEqual(
      ResponseFrame.encode(response, version: 4, correlationId: 9),
      [0, 0, 0, 12, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 27, 0])
    XCTAssertEqual(
      ResponseFrame.encode(response, version: 0, correlationId: 9), [0, 0, 0, 6, 0, 0, 0, 9, 0, 27])
  }

  /// Decodes `bytes` as a request frame and, when the codec knows the API and version, its body.
  func decodeAnything(_ bytes: [UInt8]) {
    guard let frame = try? RequestFrame(parsing: bytes), frame.isDecodable else { return }
    _ = try? frame.decodeBody()
  }

  func testEveryPrefixOfEveryFixtureThrowsOrDecodes() throws {
    for name in Fixture.names {
      let bytes = try Fixture.bytes(name)
      for length in 0..<bytes.count {
        let prefix = Array(bytes.prefix(length))
        decodeAnything(prefix)
        if name.hasSuffix("-response") || name.hasPrefix("consumer-") { continue }
        // A request cut short anywhere after its header fails to decode.
        if let frame = try? RequestFrame(parsing: bytes), length < bytes.count,
          length >= bytes.count - frame.body.remaining
        {
          XCTAssertThrowsError(
            try RequestFrame(parsing: prefix).decodeBody(), "\(name) cut at \(length)")
        }
      }
    }
  }

  func testEveryPrefixOfAResponseFixtureThrows() throws {
    let decoders: [String: ([UInt8]) throws -> Void] = [
      "api-versions-v3-response": {
        _ = try Self.response(ApiVersionsResponse.self, $0, version: 3)
      },
      "metadata-v12-response": { _ = try Self.response(MetadataResponse.self, $0, version: 12) },
      "produce-v9-response": { _ = try Self.response(ProduceResponse.self, $0, version: 9) },
      "fetch-v12-response": { _ = try Self.response(FetchResponse.self, $0, version: 12) },
      "join-group-v7-response": { _ = try Self.response(JoinGroupResponse.self, $0, version: 7) },
      "offset-commit-v8-response": {
        _ = try Self.response(OffsetCommitResponse.self, $0, version: 8)
      },
      "find-coordinator-v4-response": {
        _ = try Self.response(FindCoordinatorResponse.self, $0, version: 4)
      },
      "consumer-subscription-v3": { _ = try ConsumerProtocolSubscription(protocolMetadata: $0) },
      "consumer-assignment-v3": { _ = try ConsumerProtocolAssignment(assignmentBytes: $0) },
    ]
    for (name, decode) in decoders {
      let bytes = try Fixture.bytes(name)
      XCTAssertNoThrow(try decode(bytes), name)
      for length in 1..<bytes.count {
        XCTAssertThrowsError(try decode(Array(bytes.prefix(length))), "\(name) cut at \(length)")
      }
    }
  }

  /// Decodes a response header and body from all of `bytes`.
  static func response<Response: KafkaResponseMessage>(
    _: Response.Type, _ bytes: [UInt8], version: Int16
  ) throws -> Response {
    var reader = KafkaReader(bytes)
    _ = try ResponseHeader(
      from: &reader, version: Response.apiKey.responseHeaderVersion(for: version))
    let response = try Response(from: &reader, version: version)
    guard reader.isAtEnd else {
      throw KafkaDecodingError(
        field: "end", offset: reader.position, reason: .invalidValue("trailing"))
    }
    return response
  }

  func testRandomAndMutatedBytesNeverTrap() throws {
    var generator = SplitMix64(seed: 0x5EED)
    for _ in 0..<20_000 {
      let count = Int(generator.next() % 96)
      var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
      if count >= 4 {
        // Mostly known keys and versions, so bodies get decoded.
        let keys = ApiKey.brokerCases
        let key = keys[Int(generator.next() % UInt64(keys.count))]
        let range = key.supportedVersions
        let version = range.lowerBound + Int16(generator.next() % UInt64(range.count))
        bytes[0] = UInt8(truncatingIfNeeded: key.rawValue >> 8)
        bytes[1] = UInt8(truncatingIfNeeded: key.rawValue)
        bytes[2] = 0
        bytes[3] = UInt8(version)
      }
      decodeAnything(bytes)
    }
    for name in Fixture.names {
      let original = try Fixture.bytes(name)
      for _ in 0..<2_000 {
        var bytes = original
        for _ in 0..<(1 + generator.next() % 3) {
          bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(
            truncatingIfNeeded: generator.next())
        }
        decodeAnything(bytes)
      }
    }
  }
}

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
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

final class ApiKeyListsTests: XCTestCase {
  /// The listener advertises `ApiKey.brokerCases`: the client-only APIs must stay out of it.
  func testBrokerCasesAreWhatABrokerDecodesAndClientOnlyCasesAreTheRest() {
    XCTAssertEqual(Set(ApiKey.allCases), Set(ApiKey.brokerCases + ApiKey.clientOnlyCases))
    XCTAssertEqual(
      ApiKey.brokerCases.map(\.rawValue),
      [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22, 23, 24, 25, 26, 28, 32, 60])
    XCTAssertEqual(ApiKey.clientOnlyCases.map(\.rawValue), [17, 36])
    XCTAssertEqual(ApiKey.endTxn.supportedVersions, 0...3)
    XCTAssertEqual(ApiKey.saslAuthenticate.firstFlexibleRequestVersion, 2)
  }
}
