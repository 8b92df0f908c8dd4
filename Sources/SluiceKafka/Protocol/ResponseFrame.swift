/// Encodes whole response frames: the 4-byte size, the response header (v0, or v1 with its
/// tagged fields for flexible responses, ApiVersions excepted) and the body.
public enum ResponseFrame {
  /// The frame answering request `correlationId` with `response` at `version`.
  public static func encode<Response: KafkaResponseMessage>(
    _ response: Response, version: Int16, correlationId: Int32
  ) -> [UInt8] {
    encode(apiKey: Response.apiKey, version: version, correlationId: correlationId) { writer in
      response.write(to: &writer, version: version)
    }
  }

  /// The frame answering request `correlationId` of `apiKey` at `version`, with `body` writing
  /// the response body.
  public static func encode(
    apiKey: ApiKey, version: Int16, correlationId: Int32, body: (inout KafkaWriter) -> Void
  ) -> [UInt8] {
    var writer = KafkaWriter(capacity: 64)
    let size = writer.reserveLengthPrefix()
    ResponseHeader(correlationId: correlationId)
      .write(to: &writer, version: apiKey.responseHeaderVersion(for: version))
    body(&writer)
    writer.patchLengthPrefix(at: size)
    return writer.bytes
  }
}
