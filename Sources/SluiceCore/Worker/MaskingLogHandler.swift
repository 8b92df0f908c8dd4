import Logging

/// A log handler that masks the password of every URL in a message and its metadata before the
/// wrapped handler writes it (``CredentialMask``), so no connector's error leaks credentials
/// into the log.
public struct MaskingLogHandler: LogHandler {
  public var wrapped: any LogHandler

  public init(wrapping handler: any LogHandler) { self.wrapped = handler }

  public var logLevel: Logger.Level {
    get { wrapped.logLevel }
    set { wrapped.logLevel = newValue }
  }

  public var metadata: Logger.Metadata {
    get { wrapped.metadata }
    set { wrapped.metadata = newValue }
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { wrapped[metadataKey: key] }
    set { wrapped[metadataKey: key] = newValue }
  }

  public func log(event: LogEvent) {
    var event = event
    event.message = "\(CredentialMask.masking("\(event.message)"))"
    event.metadata = event.metadata.map { $0.mapValues(Self.masking) }
    wrapped.log(event: event)
  }

  static func masking(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
    switch value {
    case .string(let text): .string(CredentialMask.masking(text))
    case .stringConvertible(let value): .string(CredentialMask.masking(value.description))
    case .array(let values): .array(values.map(masking))
    case .dictionary(let values): .dictionary(values.mapValues(masking))
    }
  }
}
