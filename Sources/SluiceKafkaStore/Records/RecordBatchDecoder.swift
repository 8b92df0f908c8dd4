import SluiceCompression
import SluiceKafka

/// One RecordBatch v2 from a fetch response, header fields decoded, records decoded
/// (decompressed first when the batch is compressed).
public struct DecodedBatch: Sendable, Equatable {
  /// Offset of the first record.
  public var baseOffset: Int64
  /// Offset of the last record the batch covers (records may have been compacted away).
  public var lastOffset: Int64
  /// The producer id, -1 for none.
  public var producerId: Int64
  /// The producer epoch.
  public var producerEpoch: Int16
  /// Whether the batch belongs to a transaction.
  public var isTransactional: Bool
  /// Whether the batch is a transaction marker (commit or abort), not data.
  public var isControl: Bool
  /// For a control batch: true for a COMMIT marker, false for ABORT.
  public var controlCommits: Bool?
  /// The records, with their offsets (empty for a control batch).
  public var records: [FetchedRecord]
}

/// Reads the record batches of a fetch response's `records` field.
public enum RecordBatchDecoder {
  /// The most bytes one batch's records may decompress to (64 MiB, as the embedded log).
  public static let maxDecompressedBytes = 64 << 20

  /// Every whole batch in `bytes`; a partial batch at the end (the broker cut the response at
  /// its size limit) is left out. Throws on a bad CRC, an unknown magic or a record that does
  /// not parse.
  public static func decode(_ bytes: [UInt8]) throws -> [DecodedBatch] {
    var batches: [DecodedBatch] = []
    var position = 0
    while bytes.count - position >= 17 {
      var header = KafkaReader(Array(bytes[position..<(position + 17)]))
      let baseOffset = try header.readInt64(field: "baseOffset")
      let length = Int(try header.readInt32(field: "batchLength"))
      _ = try header.readInt32(field: "partitionLeaderEpoch")
      let magic = try header.readInt8(field: "magic")
      let size = 12 + length
      guard length >= 49 else {
        throw KafkaClientError(.protocolViolation, "record batch of \(length) bytes")
      }
      guard bytes.count - position >= size else { break }
      guard magic == 2 else {
        throw KafkaClientError(.protocolViolation, "record batch magic \(magic) (only v2 is read)")
      }
      let batch = Array(bytes[position..<(position + size)])
      position += size
      batches.append(try decodeBatch(batch, baseOffset: baseOffset))
    }
    return batches
  }

  private static func decodeBatch(_ batch: [UInt8], baseOffset: Int64) throws -> DecodedBatch {
    var r = KafkaReader(batch)
    try r.skip(17, field: "batch header")
    let storedCRC = try r.readUInt32(field: "crc")
    let crc = batch.withUnsafeBytes {
      CRC32CChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[21...]))
    }
    guard crc == storedCRC else {
      throw KafkaClientError(.protocolViolation, "record batch at offset \(baseOffset): bad CRC")
    }
    let attributes = try r.readInt16(field: "attributes")
    let lastOffsetDelta = try r.readInt32(field: "lastOffsetDelta")
    let baseTimestamp = try r.readInt64(field: "baseTimestamp")
    _ = try r.readInt64(field: "maxTimestamp")
    let producerId = try r.readInt64(field: "producerId")
    let producerEpoch = try r.readInt16(field: "producerEpoch")
    _ = try r.readInt32(field: "baseSequence")
    let count = try r.readInt32(field: "recordCount")
    let isTransactional = attributes & 0x10 != 0
    let isControl = attributes & 0x20 != 0

    let codec: RecordBatchCompression
    do {
      codec = try RecordBatchCompression(attributes: attributes)
    } catch {
      throw KafkaClientError(.protocolViolation, "record batch at offset \(baseOffset): \(error)")
    }
    var section = r
    if codec != .none {
      do {
        section = KafkaReader(
          try codec.decompress(r.remainingBytes, limit: maxDecompressedBytes))
      } catch {
        throw KafkaClientError(.protocolViolation, "record batch at offset \(baseOffset): \(error)")
      }
    }
    var records: [FetchedRecord] = []
    records.reserveCapacity(Int(max(0, min(count, 100_000))))
    var controlCommits: Bool?
    for _ in 0..<max(0, count) {
      let length = Int(try section.readVarint(field: "record length"))
      var record = try section.readSubReader(length, field: "record")
      _ = try record.readInt8(field: "record attributes")
      let timestampDelta = try record.readVarlong(field: "timestampDelta")
      let offsetDelta = try record.readVarint(field: "offsetDelta")
      let key = try readVarBytes(&record, "key")
      let value = try readVarBytes(&record, "value")
      let headerCount = try record.readVarint(field: "headers count")
      var headers: [KafkaHeader] = []
      for _ in 0..<max(0, headerCount) {
        let name = String(decoding: try readVarBytes(&record, "header name") ?? [], as: UTF8.self)
        headers.append(KafkaHeader(name: name, value: try readVarBytes(&record, "header value")))
      }
      if isControl {
        // Control record key: version i16, type i16 (0 abort, 1 commit).
        if let key, key.count >= 4 { controlCommits = key[2] == 0 && key[3] == 1 }
        continue
      }
      records.append(
        FetchedRecord(
          offset: baseOffset + Int64(offsetDelta),
          record: KafkaRecord(
            key: key, value: value, headers: headers, timestamp: baseTimestamp + timestampDelta)))
    }
    return DecodedBatch(
      baseOffset: baseOffset, lastOffset: baseOffset + Int64(lastOffsetDelta),
      producerId: producerId, producerEpoch: producerEpoch, isTransactional: isTransactional,
      isControl: isControl, controlCommits: controlCommits, records: records)
  }

  private static func readVarBytes(_ reader: inout KafkaReader, _ field: String) throws
    -> [UInt8]?
  {
    let length = try reader.readVarint(field: field)
    guard length >= 0 else { return nil }
    return try reader.readRawBytes(Int(length), field: field)
  }
}
