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

  /// The size of the header before the records section (baseOffset through records count).
  static let headerSize = 61

  /// The batch (base offset 0) holding `records`, which must not be empty.
  ///
  /// Without compression the records are written once, straight after the header, into one
  /// array sized beforehand; length and CRC are then patched in place.
  public func encode(_ records: [KafkaRecord]) throws -> [UInt8] {
    precondition(!records.isEmpty, "a record batch holds at least one record")
    var baseTimestamp = records[0].timestamp
    var maxTimestamp = baseTimestamp
    for record in records {
      baseTimestamp = min(baseTimestamp, record.timestamp)
      maxTimestamp = max(maxTimestamp, record.timestamp)
    }
    var sectionSize = 0
    for (delta, record) in records.enumerated() {
      let body = Self.bodySize(
        record, timestampDelta: record.timestamp - baseTimestamp, delta: delta)
      sectionSize += Self.varintSize(Int64(body)) + body
    }
    var attributes = compression.rawValue
    if isTransactional { attributes |= 0x10 }

    var bytes: [UInt8]
    if compression == .none {
      bytes = []
      bytes.reserveCapacity(Self.headerSize + sectionSize)
      writeHeader(
        attributes: attributes, count: records.count, baseTimestamp: baseTimestamp,
        maxTimestamp: maxTimestamp, to: &bytes)
      Self.writeRecords(records, baseTimestamp: baseTimestamp, to: &bytes)
    } else {
      var section: [UInt8] = []
      section.reserveCapacity(sectionSize)
      Self.writeRecords(records, baseTimestamp: baseTimestamp, to: &section)
      let payload = try compression.compress(section)
      bytes = []
      bytes.reserveCapacity(Self.headerSize + payload.count)
      writeHeader(
        attributes: attributes, count: records.count, baseTimestamp: baseTimestamp,
        maxTimestamp: maxTimestamp, to: &bytes)
      bytes.append(contentsOf: payload)
    }
    bytes.withUnsafeMutableBytes { raw in
      raw.storeBytes(of: UInt32(raw.count - 12).bigEndian, toByteOffset: 8, as: UInt32.self)
      let crc = CRC32CChecksum.checksum(
        UnsafeRawBufferPointer(rebasing: raw[Self.attributesOffset...]))
      raw.storeBytes(of: crc.bigEndian, toByteOffset: Self.crcOffset, as: UInt32.self)
    }
    return bytes
  }

  // MARK: - Layout

  /// The header with batchLength and crc zero (patched once the records are written).
  private func writeHeader(
    attributes: Int16, count: Int, baseTimestamp: Int64, maxTimestamp: Int64,
    to bytes: inout [UInt8]
  ) {
    Self.append(Int64(0), to: &bytes)  // baseOffset: the broker assigns it
    Self.append(Int32(0), to: &bytes)  // batchLength, patched
    Self.append(Int32(-1), to: &bytes)  // partitionLeaderEpoch
    bytes.append(2)  // magic
    Self.append(UInt32(0), to: &bytes)  // crc, patched
    Self.append(attributes, to: &bytes)
    Self.append(Int32(count - 1), to: &bytes)  // lastOffsetDelta
    Self.append(baseTimestamp, to: &bytes)
    Self.append(maxTimestamp, to: &bytes)
    Self.append(producerId, to: &bytes)
    Self.append(producerEpoch, to: &bytes)
    Self.append(baseSequence, to: &bytes)
    Self.append(Int32(count), to: &bytes)
  }

  /// Each record: its body's length (varint), then attributes, timestamp delta (varlong),
  /// offset delta (varint), key, value, headers.
  private static func writeRecords(
    _ records: [KafkaRecord], baseTimestamp: Int64, to bytes: inout [UInt8]
  ) {
    for (delta, record) in records.enumerated() {
      let timestampDelta = record.timestamp - baseTimestamp
      appendVarint(
        Int64(bodySize(record, timestampDelta: timestampDelta, delta: delta)), to: &bytes)
      bytes.append(0)  // record attributes
      appendVarint(timestampDelta, to: &bytes)
      appendVarint(Int64(delta), to: &bytes)
      appendVarBytes(record.key, to: &bytes)
      appendVarBytes(record.value, to: &bytes)
      appendVarint(Int64(record.headers.count), to: &bytes)
      for header in record.headers {
        appendVarint(Int64(header.name.utf8.count), to: &bytes)
        bytes.append(contentsOf: header.name.utf8)
        appendVarBytes(header.value, to: &bytes)
      }
    }
  }

  /// The length of a record's body (everything after its length varint).
  private static func bodySize(_ record: KafkaRecord, timestampDelta: Int64, delta: Int) -> Int {
    var size = 1 + varintSize(timestampDelta) + varintSize(Int64(delta))
    size += varBytesSize(record.key) + varBytesSize(record.value)
    size += varintSize(Int64(record.headers.count))
    for header in record.headers {
      let name = header.name.utf8.count
      size += varintSize(Int64(name)) + name + varBytesSize(header.value)
    }
    return size
  }

  private static func varBytesSize(_ bytes: [UInt8]?) -> Int {
    guard let bytes else { return 1 }  // -1
    return varintSize(Int64(bytes.count)) + bytes.count
  }

  /// The bytes of `value` as a zigzag varint (VARINT and VARLONG encode alike for values that
  /// fit an Int32).
  private static func varintSize(_ value: Int64) -> Int {
    let bits = UInt64(bitPattern: (value << 1) ^ (value >> 63))
    return bits == 0 ? 1 : (64 - bits.leadingZeroBitCount + 6) / 7
  }

  private static func appendVarint(_ value: Int64, to bytes: inout [UInt8]) {
    var rest = UInt64(bitPattern: (value << 1) ^ (value >> 63))
    while rest >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
      rest >>= 7
    }
    bytes.append(UInt8(rest))
  }

  private static func appendVarBytes(_ value: [UInt8]?, to bytes: inout [UInt8]) {
    guard let value else {
      appendVarint(-1, to: &bytes)
      return
    }
    appendVarint(Int64(value.count), to: &bytes)
    bytes.append(contentsOf: value)
  }

  private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
  }
}
