/// The codec of a Kafka RecordBatch, as bits 0–2 of its attributes name it. Only the records
/// section (after the 61-byte header) is compressed, as one stream.
public enum RecordBatchCompression: Int16, Sendable, CaseIterable {
  case none = 0
  case gzip = 1
  case snappy = 2
  case lz4 = 3
  case zstd = 4

  /// Bits 0–2 of a batch's attributes.
  public static let attributesMask: Int16 = 0x07

  /// The codec a batch's attributes name; throws ``CompressionError/unknownCodec(_:)`` for
  /// 5–7, which Kafka leaves undefined.
  public init(attributes: Int16) throws {
    let code = attributes & Self.attributesMask
    guard let codec = Self(rawValue: code) else { throw CompressionError.unknownCodec(Int(code)) }
    self = codec
  }

  /// `input` compressed the way Kafka's Java producer writes this codec, appended to
  /// `output` (so a batch's header can go first without a copy). On error `output` is as it was.
  public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws {
    switch self {
    case .none: output.append(contentsOf: input)
    case .gzip: try Gzip.compress(input, appendingTo: &output)
    case .snappy: try Snappy.compress(input, appendingTo: &output)
    case .lz4: LZ4Frame.compress(input, appendingTo: &output)
    case .zstd: try Zstd.compress(input, appendingTo: &output)
    }
  }

  /// `input` compressed the way Kafka's Java producer writes this codec.
  public func compress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
    var output: [UInt8] = []
    try compress(input, appendingTo: &output)
    return output
  }

  /// `input` decompressed; throws ``CompressionError/limitExceeded(codec:limit:)`` rather than
  /// produce more than `limit` bytes, and ``CompressionError/corrupt(codec:reason:)`` for
  /// input that does not decode.
  public func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws -> [UInt8] {
    switch self {
    case .none:
      guard input.count <= limit else {
        throw CompressionError.limitExceeded(codec: "none", limit: limit)
      }
      return [UInt8](input)
    case .gzip: return try Gzip.decompress(input, limit: limit)
    case .snappy: return try Snappy.decompress(input, limit: limit)
    case .lz4: return try LZ4Frame.decompress(input, limit: limit)
    case .zstd: return try Zstd.decompress(input, limit: limit)
    }
  }

  /// `input` compressed the way Kafka's Java producer writes this codec.
  public func compress(_ input: [UInt8]) throws -> [UInt8] {
    try input.withUnsafeBytes { try compress($0) }
  }

  /// `input` decompressed, at most `limit` bytes (as the `UnsafeRawBufferPointer` overload).
  public func decompress(_ input: [UInt8], limit: Int) throws -> [UInt8] {
    try input.withUnsafeBytes { try decompress($0, limit: limit) }
  }
}
