/// One request as it arrived: its header fields, parsed, and a reader positioned at the body.
///
/// A frame is the bytes after the 4-byte size prefix. The header is read by hand so that a
/// broker learns the API key, version and correlation ID of any request — also of APIs or
/// versions it cannot decode, to answer them with UNSUPPORTED_VERSION.
public struct RequestFrame: Sendable {
  /// The raw API key (it may be one ``ApiKey`` does not know).
  public var apiKeyValue: Int16
  /// The API, when the codec knows it.
  public var apiKey: ApiKey? { ApiKey(rawValue: apiKeyValue) }
  /// The requested API version.
  public var apiVersion: Int16
  /// The correlation ID the response must carry.
  public var correlationId: Int32
  /// The client ID, if the client sent one.
  public var clientId: String?
  /// The header version the frame was read with (1, or 2 for flexible requests).
  public var headerVersion: Int16
  /// A reader over the body, after the header.
  public var body: KafkaReader

  /// Parses the header of `frame` (the bytes after the size prefix). For an unknown API key the
  /// header is read as v1, the most any client can rely on.
  public init(parsing frame: [UInt8]) throws(KafkaDecodingError) {
    var reader = KafkaReader(frame)
    apiKeyValue = try reader.readInt16(field: "RequestHeader.RequestApiKey")
    apiVersion = try reader.readInt16(field: "RequestHeader.RequestApiVersion")
    correlationId = try reader.readInt32(field: "RequestHeader.CorrelationId")
    // The client ID is a non-compact nullable string in every header version that has one.
    clientId = try reader.readString(field: "RequestHeader.ClientId", nullable: true)
    headerVersion = ApiKey(rawValue: apiKeyValue)?.requestHeaderVersion(for: apiVersion) ?? 1
    if headerVersion >= 2 {
      try reader.readTaggedFields(field: "RequestHeader.taggedFields") { _, _ in }
    }
    body = reader
  }

  /// Whether the codec decodes this API at this version (``ApiKey/decodableVersions``).
  public var isDecodable: Bool {
    apiKey?.decodableVersions.contains(apiVersion) ?? false
  }

  /// Decodes the body as the request of its API and version. Throws
  /// ``KafkaDecodingError/Reason/unsupported(apiKey:version:)`` for an unknown API key or a
  /// version outside ``ApiKey/decodableVersions``.
  public func decodeBody() throws(KafkaDecodingError) -> KafkaRequestBody {
    guard let apiKey else {
      throw KafkaDecodingError(
        field: "RequestHeader.RequestApiKey", offset: 0,
        reason: .unsupported(apiKey: apiKeyValue, version: apiVersion))
    }
    var reader = body
    return try KafkaRequestBody(apiKey: apiKey, version: apiVersion, from: &reader)
  }

  /// Decodes the body as `Request`, which must be this frame's API.
  public func decodeBody<Request: KafkaRequestMessage>(as _: Request.Type)
    throws(KafkaDecodingError) -> Request
  {
    guard apiKeyValue == Request.apiKey.rawValue,
      Request.apiKey.decodableVersions.contains(apiVersion)
    else {
      throw KafkaDecodingError(
        field: "\(Request.self)", offset: body.position,
        reason: .unsupported(apiKey: apiKeyValue, version: apiVersion))
    }
    var reader = body
    return try Request(from: &reader, version: apiVersion)
  }
}
