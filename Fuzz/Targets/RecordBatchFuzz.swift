// Fuzz target `record-batch`: bytes as a run of Kafka RecordBatch v2 batches, read the way a
// segment reader reads them (Sources/SluiceLog/RecordBatch.swift): header, CRC, records.
// Records are decoded whether or not the CRC matches, so mutations reach the record decoder;
// what decodes with valid timestamps is encoded again and must decode to the same records.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordBatch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let input = UnsafeRawBufferPointer(start: data, count: size)
  var position = 0
  while position + RecordBatch.headerSize <= size,
    let header = RecordBatch.header(UnsafeRawBufferPointer(rebasing: input[position...]))
  {
    // A reader never hands `records` a batch shorter than its header says (Segment.read).
    guard header.size <= size - position else { break }
    let batch = UnsafeRawBufferPointer(rebasing: input[position..<(position + header.size)])
    _ = RecordBatch.crcIsValid(batch, header: header)

    var all: [StoredLogRecord] = []
    let decoded: Bool
    do {
      try RecordBatch.records(
        batch, header: header, from: header.baseOffset, below: .max, into: &all, limit: 100_000)
      decoded = true
    } catch {
      decoded = false
    }
    // A read starting inside the batch and ending before its end, as `read(from:below:)` does.
    var part: [StoredLogRecord] = []
    try? RecordBatch.records(
      batch, header: header, from: header.baseOffset &+ 1, below: header.lastOffset, into: &part,
      limit: 3)

    if decoded, !all.isEmpty, all.allSatisfy({ RecordTimestamp.valid.contains($0.timestamp) }) {
      roundTrip(all)
    }
    position += header.size
  }
  return 0
}

/// Encodes records as the log would and checks they read back the same.
private func roundTrip(_ records: [StoredLogRecord]) {
  let logRecords = records.map {
    LogRecord(timestamp: $0.timestamp, key: $0.key, value: $0.value, headers: $0.headers)
  }
  let encoded = RecordBatch.encode(logRecords)
  encoded.withUnsafeBytes { raw in
    guard let header = RecordBatch.header(raw) else { fatalError("encoded batch has no header") }
    precondition(header.size == raw.count, "encoded batch length")
    precondition(RecordBatch.crcIsValid(raw, header: header), "encoded batch CRC")
    var again: [StoredLogRecord] = []
    do {
      try RecordBatch.records(raw, header: header, from: 0, below: .max, into: &again, limit: .max)
    } catch {
      fatalError("an encoded batch does not decode: \(error)")
    }
    precondition(again.count == records.count, "record count after a round trip")
    for (a, b) in zip(again, records) {
      precondition(
        a.timestamp == b.timestamp && a.key == b.key && a.value == b.value
          && a.headers.map(\.value) == b.headers.map(\.value),
        "record changed in a round trip")
      // Header names are decoded leniently (invalid UTF-8 becomes U+FFFD), so compare them
      // after one decoding.
      precondition(a.headers.map(\.name) == b.headers.map(\.name), "header names changed")
    }
  }
}
