import SluiceCompression

extension RecordBatch {
  /// The most bytes one batch's records section may decompress to: 64 MiB, 64 times Kafka's
  /// default `message.max.bytes` (1 MiB, compressed), well past the ratios of real producer
  /// batches (a few times to a few tens), and small enough that a decompression bomb costs one
  /// reader no more than that.
  static let maxDecompressedRecordsBytes = 64 << 20

  /// Why a batch's records could not be decoded, for the reader's error.
  struct UndecodableRecords: Error {
    var reason: String
  }

  /// Decodes the records of a whole batch of any codec with offsets in `first..<end`: a
  /// compressed batch's records section is decompressed (to at most
  /// ``maxDecompressedRecordsBytes``) and then read like an uncompressed one.
  static func decodeRecords(
    _ batch: UnsafeRawBufferPointer, header: Header, from first: Int64, below end: Int64,
    into out: inout [StoredLogRecord], limit: Int
  ) throws {
    // A control batch holds a transaction marker, not records: readers never see it.
    if header.isControl { return }
    let section: [UInt8]
    do {
      let codec = try RecordBatchCompression(attributes: header.attributes)
      if codec == .none {
        return try records(batch, header: header, from: first, below: end, into: &out, limit: limit)
      }
      section = try codec.decompress(
        UnsafeRawBufferPointer(rebasing: batch[headerSize..<header.size]),
        limit: maxDecompressedRecordsBytes)
    } catch let error as CompressionError {
      throw UndecodableRecords(reason: error.description)
    }
    try section.withUnsafeBytes {
      try records(section: $0, header: header, from: first, below: end, into: &out, limit: limit)
    }
  }
}
