import SluiceCore

/// A RecordBatch v2 as a Kafka producer sent it, checked so that it can be stored as it came
/// (compressed or not, its CRC untouched): magic 2, one whole batch, a CRC-32C that matches,
/// a record count that agrees with the last offset delta, timestamps the log can hold, and for
/// an uncompressed batch, records that fill it exactly with offsets 0, 1, 2…
///
/// The base offset and the partition leader epoch lie outside the CRC; they are set to 0 here
/// and the base offset is set again when the batch is written at the end of its partition.
public struct ProducedBatch: Sendable {
  /// The batch, ready to be appended.
  public private(set) var bytes: [UInt8]
  public let recordCount: Int
  /// The producer's id, epoch and first sequence number (-1, -1, -1 when not idempotent).
  public let producerID: Int64
  public let producerEpoch: Int16
  public let baseSequence: Int32
  public let isTransactional: Bool
  /// A transaction marker the broker writes (``init(marker:producerID:producerEpoch:coordinatorEpoch:timestamp:)``);
  /// never true of a batch a producer sent, which ``init(validating:maxBytes:)`` refuses.
  public let isControl: Bool
  /// Kafka's codec number (attributes bits 0–2): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
  public let compression: Int
  public let maxTimestamp: Int64

  /// The sequence number of the batch's last record (sequences wrap past Int32.max to 0).
  public var lastSequence: Int32 {
    ProducerFields.lastSequence(base: baseSequence, count: recordCount)
  }

  public init(validating bytes: [UInt8], maxBytes: Int) throws(ProducedBatchError) {
    guard bytes.count >= RecordBatch.headerSize else {
      throw .corrupt(
        "a record batch has at least \(RecordBatch.headerSize) bytes, got \(bytes.count)")
    }
    if bytes[16] != 2 { throw .unsupportedMagic(Int8(bitPattern: bytes[16])) }
    guard let header = bytes.withUnsafeBytes({ RecordBatch.header($0) }) else {
      throw .corrupt("the record batch header is not valid")
    }
    guard header.size == bytes.count else {
      throw header.size < bytes.count
        ? .invalidRecord("a produce request holds exactly one record batch per partition")
        : .corrupt("the record batch says \(header.size) bytes, \(bytes.count) arrived")
    }
    guard bytes.count <= maxBytes else { throw .tooLarge(size: bytes.count, limit: maxBytes) }
    guard bytes.withUnsafeBytes({ RecordBatch.crcIsValid($0, header: header) }) else {
      throw .corrupt("CRC-32C mismatch")
    }
    let attributes = Int(bytes[21]) << 8 | Int(bytes[22])
    guard attributes & 0x20 == 0 else {
      throw .invalidRecord("a producer cannot send control batches")
    }
    isControl = false
    compression = attributes & 0x07
    guard compression <= 4 else { throw .corrupt("unknown compression codec \(compression)") }
    isTransactional = attributes & 0x10 != 0
    guard header.recordCount >= 1, Int64(header.recordCount) == Int64(header.lastOffsetDelta) + 1
    else {
      throw .invalidRecord(
        "record count \(header.recordCount) does not match last offset delta \(header.lastOffsetDelta)"
      )
    }
    for timestamp in [header.baseTimestamp, header.maxTimestamp]
    where !RecordTimestamp.valid.contains(timestamp) {
      throw .invalidTimestamp(timestamp)
    }
    let fields = ProducerFields(bytes)
    producerID = fields.producerID
    producerEpoch = fields.producerEpoch
    baseSequence = fields.baseSequence
    recordCount = Int(header.recordCount)
    maxTimestamp = header.maxTimestamp
    if compression == 0 { try Self.checkRecords(bytes, header: header) }
    self.bytes = bytes
    self.bytes.withUnsafeMutableBytes { raw in
      for i in 0..<8 { raw[i] = 0 }
      for i in 12..<16 { raw[i] = 0 }
    }
  }

  /// Walks the records of an uncompressed batch: each one's length within the batch, offset
  /// deltas in order, timestamps in range, and nothing left over.
  private static func checkRecords(_ bytes: [UInt8], header: RecordBatch.Header)
    throws(ProducedBatchError)
  {
    do {
      try bytes.withUnsafeBytes { raw in
        var r = BigEndianReader(UnsafeRawBufferPointer(rebasing: raw[RecordBatch.headerSize...]))
        for index in 0..<Int64(header.recordCount) {
          let length = try r.varint()
          guard length > 0, length <= Int64(r.remaining) else {
            throw ProducedBatchError.invalidRecord("record \(index) runs past the batch")
          }
          let end = r.position + Int(length)
          _ = try r.int8()
          let timestamp = header.baseTimestamp &+ (try r.varint())
          guard RecordTimestamp.valid.contains(timestamp) else {
            throw ProducedBatchError.invalidTimestamp(timestamp)
          }
          guard try r.varint() == index else {
            throw ProducedBatchError.invalidRecord("record \(index) has offset delta out of order")
          }
          r.position = end
        }
        guard r.position == r.bytes.endIndex else {
          throw ProducedBatchError.invalidRecord("bytes left over after the last record")
        }
      }
    } catch let error as ProducedBatchError {
      throw error
    } catch {
      throw .corrupt("a record is truncated")
    }
  }
}

extension ProducedBatch {
  /// A control batch built by ``TransactionMarker/batch(producerID:producerEpoch:coordinatorEpoch:timestamp:)``.
  init(marker bytes: [UInt8], producerID: Int64, producerEpoch: Int16, timestamp: Int64) {
    self.bytes = bytes
    self.recordCount = 1
    self.producerID = producerID
    self.producerEpoch = producerEpoch
    self.baseSequence = -1
    self.isTransactional = true
    self.isControl = true
    self.compression = 0
    self.maxTimestamp = timestamp
  }
}

/// Why a produced batch was refused, each with the Kafka error a broker answers.
public enum ProducedBatchError: Error, CustomStringConvertible, Sendable, Equatable {
  /// CORRUPT_MESSAGE (2).
  case corrupt(String)
  /// UNSUPPORTED_FOR_MESSAGE_FORMAT (43): only RecordBatch v2 (magic 2) is stored.
  case unsupportedMagic(Int8)
  /// MESSAGE_TOO_LARGE (10): larger than `log.max_record_bytes`.
  case tooLarge(size: Int, limit: Int)
  /// INVALID_RECORD (87).
  case invalidRecord(String)
  /// INVALID_TIMESTAMP (32).
  case invalidTimestamp(Int64)

  public var description: String {
    switch self {
    case .corrupt(let reason): "corrupt record batch: \(reason)"
    case .unsupportedMagic(let magic):
      "record batch magic \(magic) is not supported; only v2 (magic 2) is stored"
    case .tooLarge(let size, let limit):
      "record batch of \(size) bytes is larger than the limit of \(limit) bytes (log.max_record_bytes)"
    case .invalidRecord(let reason): "invalid record batch: \(reason)"
    case .invalidTimestamp(let timestamp):
      "timestamp \(timestamp) is outside 0…\(RecordTimestamp.valid.upperBound) (year 9999)"
    }
  }
}
