/// A Kafka message (or header, or embedded protocol struct) that reads and writes itself in any
/// of its versions. The generated types in `Messages/` conform.
public protocol KafkaMessage: Equatable, Sendable {
  /// Reads the message as written in `version`.
  init(from reader: inout KafkaReader, version: Int16) throws(KafkaDecodingError)
  /// Writes the message as `version` lays it out.
  func write(to writer: inout KafkaWriter, version: Int16)
}

/// The body of a request of one API.
public protocol KafkaRequestMessage: KafkaMessage {
  /// The API the request belongs to.
  static var apiKey: ApiKey { get }
}

/// The body of a response of one API.
public protocol KafkaResponseMessage: KafkaMessage {
  /// The API the response belongs to.
  static var apiKey: ApiKey { get }
}

extension KafkaMessage {
  /// Decodes a message from all of `bytes`; trailing bytes are an error.
  public init(bytes: [UInt8], version: Int16) throws(KafkaDecodingError) {
    var reader = KafkaReader(bytes)
    try self.init(from: &reader, version: version)
    guard reader.isAtEnd else {
      throw KafkaDecodingError(
        field: "\(Self.self)", offset: reader.position,
        reason: .invalidValue("\(reader.remaining) bytes after the message"))
    }
  }

  /// The message encoded as `version`.
  public func bytes(version: Int16) -> [UInt8] {
    var writer = KafkaWriter()
    write(to: &writer, version: version)
    return writer.bytes
  }
}
