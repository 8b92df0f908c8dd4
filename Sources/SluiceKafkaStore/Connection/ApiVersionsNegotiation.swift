import SluiceKafka

/// The ApiVersions handshake as a value: which version to ask with, what to do with the
/// answer, and the version of every later request.
///
/// It opens at the codec's highest ApiVersions version. A broker that does not know it
/// answers with a v0 body carrying UNSUPPORTED_VERSION and (KIP-511) its own key list; the
/// next try is then `min(tried - 1, the broker's ApiVersions max)`, or v0 when the list says
/// nothing — as librdkafka does.
public struct ApiVersionsNegotiation: Sendable, Equatable {
  /// What to do after an answer.
  public enum Action: Sendable, Equatable {
    /// Ask again with this version.
    case retry(version: Int16)
    /// The broker's ranges, by API key.
    case done([Int16: ClosedRange<Int16>])
    /// The handshake cannot complete.
    case fail(String)
  }

  /// The version of the next (or current) ApiVersions request.
  public private(set) var version: Int16

  /// A handshake starting at `version` (the codec's highest by default).
  public init(version: Int16 = ApiKey.apiVersions.decodableVersions.upperBound) {
    self.version = version
  }

  /// The answer `body` (response header removed) to the request at ``version``.
  public mutating func received(_ body: [UInt8]) -> Action {
    // Every ApiVersions response starts with its error code; an UNSUPPORTED_VERSION answer is
    // laid out as v0 whatever was asked.
    guard body.count >= 2 else { return .fail("ApiVersions answer of \(body.count) bytes") }
    let code = Int16(bitPattern: UInt16(body[0]) << 8 | UInt16(body[1]))
    if code == KafkaErrorCode.unsupportedVersion.rawValue {
      guard version > 0 else { return .fail("the broker refuses ApiVersions v0") }
      let advertised = (try? ApiVersionsResponse(bytes: body, version: 0))?.apiKeys.first {
        $0.apiKey == ApiKey.apiVersions.rawValue
      }
      let next = advertised.map { min(version - 1, $0.maxVersion) } ?? 0
      version = max(0, next)
      return .retry(version: version)
    }
    let response: ApiVersionsResponse
    do {
      response = try ApiVersionsResponse(bytes: body, version: version)
    } catch {
      return .fail("ApiVersions v\(version) answer: \(error)")
    }
    guard response.errorCode == 0 else {
      return .fail(KafkaClientError.server(response.errorCode, "ApiVersions").message)
    }
    var ranges: [Int16: ClosedRange<Int16>] = [:]
    for key in response.apiKeys where key.minVersion <= key.maxVersion {
      ranges[key.apiKey] = key.minVersion...key.maxVersion
    }
    return .done(ranges)
  }

  /// The version to send `apiKey` at: the highest both the codec and the broker support
  /// (capped by `cap`); nil when their ranges do not meet.
  public static func version(
    for apiKey: ApiKey, broker: [Int16: ClosedRange<Int16>], cap: Int16? = nil
  ) -> Int16? {
    guard let theirs = broker[apiKey.rawValue] else { return nil }
    let ours = apiKey.decodableVersions
    let high = min(ours.upperBound, theirs.upperBound, cap ?? .max)
    let low = max(ours.lowerBound, theirs.lowerBound)
    return low <= high ? high : nil
  }
}
