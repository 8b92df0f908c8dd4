/// Why a codec could not decompress (or, rarely, compress) a buffer; the message is the C
/// library's own where it gives one.
public enum CompressionError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The input is not valid data for the codec (damaged, truncated, or another format).
  case corrupt(codec: String, reason: String)
  /// Decompressing would produce more than `limit` bytes; decoding stopped there, so a
  /// decompression bomb costs at most `limit` bytes of memory.
  case limitExceeded(codec: String, limit: Int)
  /// A RecordBatch attributes value whose bits 0–2 name no codec Kafka defines (5–7).
  case unknownCodec(Int)
  /// The library failed for a reason other than the input (out of memory, input too large).
  case failed(codec: String, reason: String)

  public var description: String {
    switch self {
    case .corrupt(let codec, let reason): "\(codec) data is corrupt: \(reason)"
    case .limitExceeded(let codec, let limit):
      "\(codec) data decompresses to more than the limit of \(limit) bytes"
    case .unknownCodec(let value):
      "compression codec \(value) is not one Kafka defines (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)"
    case .failed(let codec, let reason): "\(codec) failed: \(reason)"
    }
  }
}
