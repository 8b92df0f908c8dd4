import SluiceCompression
import SluiceCore

/// Kafka's RecordBatch v2, the unit Sluice writes to and reads from segments, so a Kafka-protocol
/// listener could later serve segments as they lie.
///
/// ```
/// baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 (2) | crc u32
/// | attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64
/// | producerId i64 | producerEpoch i16 | baseSequence i32 | records count i32 | records…
/// ```
/// The CRC-32C covers attributes to the end; baseOffset is outside it, so a batch encoded ahead
/// of time gets its offset written in when the writer places it.
enum RecordBatch {
  /// Bytes before the records.
  static let headerSize = EncodedRecords.headerSize
  /// Bytes of baseOffset + batchLength, which `batchLength` does not count.
  static let logOverhead = 12
  /// The magic byte (2 for RecordBatch v2): a cheap first test of whether bytes start a batch.
  static let magicOffset = 16
  static let crcOffset = 17
  static let attributesOffset = 21

  /// Encodes records as one batch with base offset 0, into `buffer`'s storage when it is
  /// large enough (see ``BatchBufferPool``).
  static func encode(_ records: [LogRecord], reusing buffer: consuming [UInt8] = []) -> [UInt8] {
    frame(encoded(records, reusing: buffer))
  }

  /// `records` in the v2 record format, ready for a header, in `buffer`'s storage when it is
  /// large enough.
  static func encoded(_ records: [LogRecord], reusing buffer: consuming [UInt8] = [])
    -> EncodedRecords
  {
    var capacity = 0
    for record in records { capacity += record.payloadSize + 24 }
    let encoded = EncodedRecords(reusing: buffer, capacity: capacity)
    for record in records { encoded.append(record) }
    return encoded
  }

  /// The batch of `encoded`'s records with base offset 0, compressed or not as they are: the
  /// header is written into the room the records left for it, so the records are not copied.
  static func frame(_ encoded: EncodedRecords) -> [UInt8] {
    let fields = Fields(encoded, codec: RecordBatchCompression(rawValue: encoded.codec) ?? .none)
    var bytes = encoded.takeBytes()
    fields.write(into: &bytes)
    return bytes
  }

  /// The batch of `encoded`'s records with base offset 0 and its records section compressed
  /// by `codec`, written into `output` (a spare buffer: its contents are dropped), and the
  /// records' own buffer, free for the next batch.
  static func frame(
    _ encoded: EncodedRecords, compressedWith codec: RecordBatchCompression,
    into output: consuming [UInt8]
  ) throws -> (batch: [UInt8], spent: [UInt8]) {
    let fields = Fields(encoded, codec: codec)
    let records = encoded.takeBytes()
    var batch = consume output
    batch.removeAll(keepingCapacity: true)
    batch.append(contentsOf: repeatElement(0, count: headerSize))
    try records.withUnsafeBytes { raw in
      try codec.compress(
        UnsafeRawBufferPointer(rebasing: raw[headerSize...]), appendingTo: &batch)
    }
    fields.write(into: &batch)
    return (batch, records)
  }

  /// What a batch's header says about its records, written once the records are in place.
  private struct Fields {
    var count: Int
    var baseTimestamp: Int64
    var maxTimestamp: Int64
    var codec: RecordBatchCompression

    init(_ encoded: EncodedRecords, codec: RecordBatchCompression) {
      count = encoded.count
      baseTimestamp = encoded.firstTimestamp
      maxTimestamp = encoded.maxTimestamp
      self.codec = codec
    }

    /// Fills the first ``headerSize`` bytes of `bytes` (the records follow) and its CRC.
    func write(into bytes: inout [UInt8]) {
      // Patched in place: a copy of the array here would copy the whole batch.
      bytes.withUnsafeMutableBytes { raw in
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
          raw.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
        }
        put(Int64(0), at: 0)  // baseOffset, written by the segment when it places the batch
        put(Int32(raw.count - logOverhead), at: 8)  // batchLength
        put(Int32(-1), at: 12)  // partitionLeaderEpoch
        put(Int8(2), at: magicOffset)
        // The codec in bits 0–2; CreateTime, not transactional.
        put(codec.rawValue, at: attributesOffset)
        put(Int32(count - 1), at: 23)  // lastOffsetDelta
        put(baseTimestamp, at: 27)
        put(maxTimestamp, at: 35)
        put(Int64(-1), at: 43)  // producerId
        put(Int16(-1), at: 51)  // producerEpoch
        put(Int32(-1), at: 53)  // baseSequence
        put(Int32(count), at: 57)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[attributesOffset...]))
        put(crc, at: crcOffset)
      }
    }
  }

  /// The fixed fields a reader needs to walk a segment without decoding records.
  struct Header: Equatable {
    var baseOffset: Int64
    /// Whole batch size on disk, log overhead included.
    var size: Int
    var magic: Int8
    var storedCRC: UInt32
    /// Bits 0–2: the codec of the records section (RecordBatch+Compression.swift).
    var attributes: Int16
    var lastOffsetDelta: Int32
    var baseTimestamp: Int64
    var maxTimestamp: Int64
    var recordCount: Int32

    var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    var nextOffset: Int64 { lastOffset + 1 }
    /// Attributes bit 4: written by a transactional producer.
    var isTransactional: Bool { attributes & RecordBatch.transactionalBit != 0 }
    /// Attributes bit 5: a control batch (a transaction marker), written by the broker.
    var isControl: Bool { attributes & RecordBatch.controlBit != 0 }
  }

  /// Attributes bit 4 (transactional) and bit 5 (control).
  static let transactionalBit: Int16 = 0x10
  static let controlBit: Int16 = 0x20

  /// Parses the header at the start of `buffer`; nil if it is too short or not plausibly a v2 batch.
  static func header(_ buffer: UnsafeRawBufferPointer) -> Header? {
    guard buffer.count >= headerSize else { return nil }
    var r = BigEndianReader(buffer)
    guard let baseOffset = try? r.bigEndian(Int64.self), let length = try? r.bigEndian(Int32.self),
      length >= Int32(headerSize - logOverhead), (try? r.bigEndian(Int32.self)) != nil,
      let magic = try? r.int8(), magic == 2, let crc = try? r.bigEndian(UInt32.self),
      let attributes = try? r.bigEndian(Int16.self), let lastDelta = try? r.bigEndian(Int32.self),
      lastDelta >= 0,
      let baseTimestamp = try? r.bigEndian(Int64.self),
      let maxTimestamp = try? r.bigEndian(Int64.self)
    else { return nil }
    r.position = headerSize - 4
    // An offset this close to Int64.max cannot be real, and `lastOffset` must not overflow.
    guard let count = try? r.bigEndian(Int32.self), count >= 0, baseOffset >= 0,
      baseOffset < Int64.max - Int64(Int32.max) - 1
    else { return nil }
    return Header(
      baseOffset: baseOffset, size: Int(length) + logOverhead, magic: magic, storedCRC: crc,
      attributes: attributes, lastOffsetDelta: lastDelta,
      baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp, recordCount: count)
  }

  /// True when the batch's CRC matches (the buffer holds the whole batch).
  static func crcIsValid(_ batch: UnsafeRawBufferPointer, header: Header) -> Bool {
    CRC32C.checksum(UnsafeRawBufferPointer(rebasing: batch[attributesOffset..<header.size]))
      == header.storedCRC
  }

  /// Decodes the records of a whole uncompressed batch with offsets in `range` (a compressed
  /// one goes through ``decodeRecords(_:header:from:below:into:limit:)``).
  static func records(
    _ batch: UnsafeRawBufferPointer, header: Header, from first: Int64, below end: Int64,
    into out: inout [StoredLogRecord],
    limit: Int
  ) throws {
    try records(
      section: UnsafeRawBufferPointer(rebasing: batch[headerSize..<header.size]), header: header,
      from: first, below: end, into: &out, limit: limit)
  }

  /// Decodes records from a batch's records section: the bytes after the header, decompressed
  /// first when the batch is compressed.
  static func records(
    section: UnsafeRawBufferPointer, header: Header, from first: Int64, below end: Int64,
    into out: inout [StoredLogRecord],
    limit: Int
  ) throws {
    var r = BigEndianReader(section)
    for _ in 0..<Int(header.recordCount) {
      if out.count >= limit { return }
      let length = Int(try r.varint())
      let start = r.position
      _ = try r.int8()
      let timestampDelta = try r.varint()
      // Lengths, deltas and counts are stored bytes: wrapping arithmetic and bounds checked
      // against what remains keep a damaged batch an error, never a trap or a huge allocation.
      let offset = header.baseOffset &+ (try r.varint())
      if offset < first || offset >= end {
        try r.skip(length &- (r.position - start))
        if offset >= end { return }
        continue
      }
      let key = try r.lengthPrefixed()
      let value = try r.lengthPrefixed()
      let headerCount = try r.varint()
      var headers: [LogHeader] = []
      if headerCount > 0 {
        // Each header takes at least two bytes.
        guard headerCount <= Int64(r.remaining) / 2 else {
          throw MalformedBytes("record headers run past the batch")
        }
        headers.reserveCapacity(Int(headerCount))
        for _ in 0..<headerCount {
          let name = String(decoding: try r.lengthPrefixed() ?? [], as: UTF8.self)
          headers.append(LogHeader(name: name, value: try r.lengthPrefixed()))
        }
      }
      out.append(
        StoredLogRecord(
          offset: offset, timestamp: header.baseTimestamp &+ timestampDelta, key: key, value: value,
          headers: headers))
    }
  }
}
