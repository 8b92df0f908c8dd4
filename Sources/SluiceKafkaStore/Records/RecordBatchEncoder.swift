import SluiceCompression
import SluiceKafka

/// Encodes records as one RecordBatch v2 for Produce, with the producer's id, epoch and base
/// sequence (idempotence) and the transactional bit.
///
/// ```
/// baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 (2) | crc u32
/// | attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64
/// | producerId i64 | producerEpoch i16 | baseSequence i32 | records count i32 | records…
/// ```
/// The CRC-32C covers attributes to the end. (SluiceLog's encoder writes the same layout for
/// the embedded log, without producer fields; see the SluiceKafkaStore report.)
public struct RecordBatchEncoder: Sendable {
  /// The producer id, or -1 for none.
  public var producerId: Int64 = -1
  /// The producer epoch, or -1.
  public var producerEpoch: Int16 = -1
  /// The sequence number of the first record, or -1.
  public var baseSequence: Int32 = -1
  /// Whether the batch belongs to a transaction.
  public var isTransactional = false
  /// The codec of the records section.
  public var compression: RecordBatchCompression = .none

  /// An encoder with the given producer fields.
  public init(
    producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
    isTransactional: Bool = false, compression: RecordBatchCompression = .none
  ) {
    self.producerId = producerId
    self.producerEpoch = producerEpoch
    self.baseSequence = baseSequence
    self.isTransactional = isTransactional
    self.compression = compression
  }

  static let attributesOffset = 21
  static let crcOffset = 17

  /// The batch (base offset 0) holding `records`, which must not be empty.
  public func encode(_ records: [KafkaRecord]) throws -> [UInt8] {
    precondition(!records.isEmpty, "a record batch holds at least one record")
    let baseTimestamp = records.map(\.timestamp).min() ?? 0
    let maxTimestamp = records.map(\.timestamp).max() ?? 0
    var section = KafkaWriter(capacity: records.count * 32)
    for (delta, record) in records.enumerated() {
      var body = KafkaWriter(capacity: 32 + (record.key?.count ?? 0) + (record.value?.count ?? 0))
      body.writeInt8(0)  // record attributes
      body.writeVarlong(record.timestamp - baseTimestamp)
      body.writeVarint(Int32(delta))
      writeVarBytes(record.key, to: &body)
      writeVarBytes(record.value, to: &body)
      body.writeVarint(Int32(record.headers.count))
      for header in record.headers {
        writeVarBytes(Array(header.name.utf8), to: &body)
        writeVarBytes(header.value, to: &body)
      }
      section.writeVarint(Int32(body.count))
      section.writeRawBytes(body.bytes)
    }
    var attributes = compression.rawValue
    if isTransactional { attributes |= 0x10 }
    let payload = compression == .none ? section.bytes : try compression.compress(section.bytes)

    var w = KafkaWriter(capacity: 61 + payload.count)
    w.writeInt64(0)  // baseOffset: the broker assigns it
    w.writeInt32(0)  // batchLength, patched below
    w.writeInt32(-1)  // partitionLeaderEpoch
    w.writeInt8(2)  // magic
    w.writeUInt32(0)  // crc, patched below
    w.writeInt16(attributes)
    w.writeInt32(Int32(records.count - 1))
    w.writeInt64(baseTimestamp)
    w.writeInt64(maxTimestamp)
    w.writeInt64(producerId)
    w.writeInt16(producerEpoch)
    w.writeInt32(baseSequence)
    w.writeInt32(Int32(records.count))
    w.writeRawBytes(payload)
    var bytes = w.bytes
    let length = UInt32(bytes.count - 12)
    withUnsafeBytes(of: length.bigEndian) { bytes.replaceSubrange(8..<12, with: $0) }
    let crc = bytes.withUnsafeBytes {
      CRC32CChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[Self.attributesOffset...]))
    }
    withUnsafeBytes(of: crc.bigEndian) {
      bytes.replaceSubrange(Self.crcOffset..<(Self.crcOffset + 4), with: $0)
    }
    return bytes
  }

  private func writeVarBytes(_ bytes: [UInt8]?, to writer: inout KafkaWriter) {
    guard let bytes else {
      writer.writeVarint(-1)
      return
    }
    writer.writeVarint(Int32(bytes.count))
    writer.writeRawBytes(bytes)
  }
}
