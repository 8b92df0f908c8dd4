import SluiceCore

/// A transaction marker: the control batch a Kafka broker's transaction coordinator writes to
/// every partition of a transaction when it ends (KIP-98), so that read_committed readers know
/// whether the producer's records before it count.
///
/// The batch is a RecordBatch v2 with the transactional and control bits set, the producer's id
/// and epoch, no sequence, and one record whose key is the control record key (version 0, type
/// 0 abort or 1 commit) and whose value is version 0 and the coordinator epoch.
public enum TransactionMarker: Int16, Sendable, Equatable {
  case abort = 0
  case commit = 1

  /// The marker of `producerID` at `producerEpoch`, as a batch ready to be appended.
  public func batch(
    producerID: Int64, producerEpoch: Int16, coordinatorEpoch: Int32, timestamp: Int64
  )
    -> ProducedBatch
  {
    var key = ByteWriter(capacity: 4)
    key.int16(0)  // control record key version
    key.int16(rawValue)
    var value = ByteWriter(capacity: 6)
    value.int16(0)  // end transaction marker version
    value.int32(coordinatorEpoch)
    var record = ByteWriter(capacity: 24)
    record.int8(0)  // record attributes
    record.varint(0)  // timestamp delta
    record.varint(0)  // offset delta
    record.lengthPrefixed(key.bytes)
    record.lengthPrefixed(value.bytes)
    record.varint(0)  // headers
    var w = ByteWriter(capacity: RecordBatch.headerSize + record.bytes.count + 2)
    w.int64(0)  // base offset, set when appended
    w.int32(0)  // batch length, set below
    w.int32(0)  // partition leader epoch
    w.int8(2)
    w.int32(0)  // crc, set below
    w.int16(RecordBatch.transactionalBit | RecordBatch.controlBit)
    w.int32(0)  // last offset delta
    w.int64(timestamp)
    w.int64(timestamp)
    w.int64(producerID)
    w.int16(producerEpoch)
    w.int32(-1)  // base sequence
    w.int32(1)  // one record
    w.varint(Int64(record.bytes.count))
    w.bytes += record.bytes
    w.bytes.withUnsafeMutableBytes { raw in
      raw.storeBytes(
        of: UInt32(raw.count - RecordBatch.logOverhead).bigEndian, toByteOffset: 8,
        as: UInt32.self)
      let crc = CRC32C.checksum(
        UnsafeRawBufferPointer(rebasing: raw[RecordBatch.attributesOffset...]))
      raw.storeBytes(of: crc.bigEndian, toByteOffset: RecordBatch.crcOffset, as: UInt32.self)
    }
    return ProducedBatch(
      marker: w.bytes, producerID: producerID, producerEpoch: producerEpoch, timestamp: timestamp)
  }

  /// The marker a stored control batch holds (its whole bytes), or nil if it holds none.
  static func read(_ batch: UnsafeRawBufferPointer) -> TransactionMarker? {
    guard batch.count > RecordBatch.headerSize else { return nil }
    var r = BigEndianReader(UnsafeRawBufferPointer(rebasing: batch[RecordBatch.headerSize...]))
    guard (try? r.varint()) != nil, (try? r.int8()) != nil, (try? r.varint()) != nil,
      (try? r.varint()) != nil, let key = try? r.lengthPrefixed(), key.count >= 4
    else { return nil }
    return TransactionMarker(rawValue: Int16(key[2]) << 8 | Int16(key[3]))
  }
}
