import SluiceKafka

extension KafkaBroker {
  /// Every API this broker serves with its version range (ApiVersions; clients use nothing
  /// else).
  func apiVersions() -> ApiVersionsResponse {
    ApiVersionsResponse(errorCode: KafkaErrorCode.none.rawValue, apiKeys: Self.advertisedVersions)
  }

  static let advertisedVersions: [ApiVersionsResponse.ApiVersion] = ApiKey.brokerCases.map {
    .init(
      apiKey: $0.rawValue, minVersion: $0.supportedVersions.lowerBound,
      maxVersion: $0.supportedVersions.upperBound)
  }

  /// The answer to an ApiVersions request of a version this broker does not know: v0, with
  /// UNSUPPORTED_VERSION and the key list, so the client retries with one it does (KIP-511).
  func unsupportedApiVersions(correlationId: Int32) -> [UInt8] {
    ResponseFrame.encode(
      ApiVersionsResponse(
        errorCode: KafkaErrorCode.unsupportedVersion.rawValue, apiKeys: Self.advertisedVersions),
      version: 0, correlationId: correlationId)
  }
}
