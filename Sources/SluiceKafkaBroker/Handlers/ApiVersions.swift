import SluiceKafka

extension KafkaBroker {
  /// Every API this broker serves with its version range (ApiVersions; clients use nothing
  /// else).
  func apiVersions() -> ApiVersionsResponse {
    ApiVersionsResponse(errorCode: KafkaErrorCode.none.rawValue, apiKeys: advertisedVersions)
  }

  /// The broker's APIs, plus SaslHandshake and SaslAuthenticate when `kafka.sasl` is set, so
  /// clients authenticate only where they must. SaslHandshake is advertised from v0 as Kafka
  /// does (librdkafka's SASL feature check wants v0 in the range) though only v1 is served:
  /// v0 hands the connection to raw SASL tokens, which the listener does not speak
  /// (``SASLServerSession`` answers a v0 handshake with UNSUPPORTED_VERSION).
  static func advertisedVersions(sasl: Bool) -> [ApiVersionsResponse.ApiVersion] {
    let keys = sasl ? (ApiKey.brokerCases + ApiKey.clientOnlyCases) : ApiKey.brokerCases
    return keys.sorted { $0.rawValue < $1.rawValue }.map { key in
      .init(
        apiKey: key.rawValue, minVersion: key.supportedVersions.lowerBound,
        maxVersion: key.supportedVersions.upperBound)
    }
  }

  /// The answer to an ApiVersions request of a version this broker does not know: v0, with
  /// UNSUPPORTED_VERSION and the key list, so the client retries with one it does (KIP-511).
  func unsupportedApiVersions(correlationId: Int32) -> [UInt8] {
    ResponseFrame.encode(
      ApiVersionsResponse(
        errorCode: KafkaErrorCode.unsupportedVersion.rawValue, apiKeys: advertisedVersions),
      version: 0, correlationId: correlationId)
  }
}
