/// The consumer protocol's subscription and assignment travel inside JoinGroup and SyncGroup as
/// opaque bytes: an INT16 version, then the struct at that version. These read and write that
/// framing; a version newer than the schema's is read as the newest known one (later versions
/// only append fields), as Kafka's `ConsumerProtocol` does.
extension ConsumerProtocolSubscription {
  /// The newest subscription version the codec knows.
  public static let latestVersion: Int16 = 3

  /// Decodes a JoinGroup protocol's metadata bytes.
  public init(protocolMetadata bytes: [UInt8]) throws(KafkaDecodingError) {
    var reader = KafkaReader(bytes)
    let version = try reader.readInt16(field: "ConsumerProtocolSubscription.Version")
    guard version >= 0 else {
      throw KafkaDecodingError(
        field: "ConsumerProtocolSubscription.Version", offset: 0,
        reason: .invalidValue("version \(version)"))
    }
    try self.init(from: &reader, version: Swift.min(version, Self.latestVersion))
  }

  /// The JoinGroup protocol metadata bytes for this subscription at `version`.
  public func protocolMetadata(version: Int16 = latestVersion) -> [UInt8] {
    var writer = KafkaWriter()
    writer.writeInt16(version)
    write(to: &writer, version: version)
    return writer.bytes
  }
}

extension ConsumerProtocolAssignment {
  /// The newest assignment version the codec knows.
  public static let latestVersion: Int16 = 3

  /// Decodes a SyncGroup assignment's bytes. Empty bytes (a member with nothing assigned, as
  /// some clients send) are an empty assignment.
  public init(assignmentBytes bytes: [UInt8]) throws(KafkaDecodingError) {
    if bytes.isEmpty {
      self.init()
      return
    }
    var reader = KafkaReader(bytes)
    let version = try reader.readInt16(field: "ConsumerProtocolAssignment.Version")
    guard version >= 0 else {
      throw KafkaDecodingError(
        field: "ConsumerProtocolAssignment.Version", offset: 0,
        reason: .invalidValue("version \(version)"))
    }
    try self.init(from: &reader, version: Swift.min(version, Self.latestVersion))
  }

  /// The SyncGroup assignment bytes for this assignment at `version`.
  public func assignmentBytes(version: Int16 = latestVersion) -> [UInt8] {
    var writer = KafkaWriter()
    writer.writeInt16(version)
    write(to: &writer, version: version)
    return writer.bytes
  }
}
