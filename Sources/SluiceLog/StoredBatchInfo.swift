/// One stored batch of an idempotent or transactional producer, or a transaction marker: its
/// offsets and producer fields.
public struct StoredBatchInfo: Sendable, Equatable {
  public var baseOffset: Int64
  public var lastOffset: Int64
  public var recordCount: Int
  public var producer: ProducerFields
  public var maxTimestamp: Int64
  /// Written by a transactional producer (markers included).
  public var isTransactional: Bool
  /// The transaction marker of a control batch; nil for a batch of records.
  public var marker: TransactionMarker?

  public init(
    baseOffset: Int64, lastOffset: Int64, recordCount: Int, producer: ProducerFields,
    maxTimestamp: Int64, isTransactional: Bool = false, marker: TransactionMarker? = nil
  ) {
    self.baseOffset = baseOffset
    self.lastOffset = lastOffset
    self.recordCount = recordCount
    self.producer = producer
    self.maxTimestamp = maxTimestamp
    self.isTransactional = isTransactional
    self.marker = marker
  }
}

/// The idempotent-producer fields of a RecordBatch v2 header (bytes 43–56), which the log keeps
/// as they came so that a broker can rebuild its producer state from the stored batches.
public struct ProducerFields: Sendable, Equatable {
  public var producerID: Int64
  public var producerEpoch: Int16
  public var baseSequence: Int32

  public init(producerID: Int64, producerEpoch: Int16, baseSequence: Int32) {
    self.producerID = producerID
    self.producerEpoch = producerEpoch
    self.baseSequence = baseSequence
  }

  /// Reads them from the start of a batch of at least ``RecordBatch/headerSize`` bytes.
  init<Bytes: Collection<UInt8>>(_ batch: Bytes) where Bytes.Index == Int {
    func big<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
      var value: T = 0
      for i in 0..<MemoryLayout<T>.size {
        value = value << 8 | T(truncatingIfNeeded: batch[batch.startIndex + at + i])
      }
      return value
    }
    producerID = big(43, Int64.self)
    producerEpoch = big(51, Int16.self)
    baseSequence = big(53, Int32.self)
  }

  /// The sequence of the last of `count` records starting at `base` (-1 when not idempotent).
  public static func lastSequence(base: Int32, count: Int) -> Int32 {
    guard base >= 0 else { return -1 }
    return Int32(truncatingIfNeeded: (Int64(base) + Int64(count) - 1) % (Int64(Int32.max) + 1))
  }
}
