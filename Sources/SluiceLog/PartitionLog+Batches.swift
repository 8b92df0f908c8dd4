/// What a Kafka broker reads from a partition besides records: whole stored batches, the
/// offset of a timestamp, and the producer fields of its recent batches.
extension PartitionLog {
  /// Whole durable batches from the one holding `offset`, up to about `maxBytes` (at least one
  /// batch), read straight into `out`; returns how many bytes were appended. `offset` at the
  /// end (or at or past `limit`) gives nothing; below the start or past the end throws. No batch
  /// starting at or after `limit` is read.
  func readBatches<Buffer: BatchReadBuffer>(
    from offset: Int64, below limit: Int64 = .max, maxBytes: Int, into out: inout Buffer
  ) throws -> Int {
    let (snapshot, sizes, durable) = lock.withLock { (segments, segments.map(\.size), durableEnd) }
    let start = snapshot.first!.baseOffset
    if offset < start || offset > durable {
      throw LogError.offsetOutOfRange(
        topic: topic, partition: partition, requested: offset, start: start, end: durable)
    }
    // A read_committed fetch stops at the last stable offset, which is a batch's first offset.
    let end = min(durable, limit)
    var taken = 0
    if offset >= end { return taken }
    var i = Self.segmentIndex(holding: offset, in: snapshot)
    while i < snapshot.count {
      let more = try snapshot[i].readBatches(
        from: offset, below: end, segmentEnd: sizes[i], maxBytes: maxBytes, taken: &taken,
        into: &out)
      if !more { break }
      i += 1
    }
    return taken
  }

  /// ``readBatches(from:maxBytes:into:)`` into a new array.
  func readBatches(from offset: Int64, below limit: Int64 = .max, maxBytes: Int) throws -> [UInt8] {
    var out: [UInt8] = []
    _ = try readBatches(from: offset, below: limit, maxBytes: maxBytes, into: &out)
    return out
  }

  /// The first record whose timestamp is at or after `timestamp`, with its timestamp, or nil
  /// when every durable record is older (Kafka's ListOffsets by timestamp). Segments whose
  /// largest timestamp is older are skipped unread; in the segment that may hold it, the time
  /// index says from which batch to read headers.
  func firstRecord(atOrAfter timestamp: Int64) throws -> (offset: Int64, timestamp: Int64)? {
    let (snapshot, sizes, newest, end) = lock.withLock {
      (segments, segments.map(\.size), segments.map(\.maxTimestamp), durableEnd)
    }
    for (i, segment) in snapshot.enumerated() {
      guard let newest = newest[i], newest >= timestamp else { continue }
      let relative = segment.timeIndex.offsetBefore(timestamp)
      let start = relative == 0 ? 0 : segment.index.position(atOrBefore: relative)
      var found: (RecordBatch.Header, Int64)?
      try segment.forEachBatch(from: start, segmentEnd: sizes[i]) { header, position, _ in
        if header.baseOffset >= end { return false }
        // A transaction marker's timestamp is when the transaction ended, and it holds no
        // record to answer with: the records after it are what counts.
        if header.isControl { return true }
        if header.maxTimestamp >= timestamp {
          found = (header, position)
          return false
        }
        return true
      }
      guard let (header, position) = found else { continue }
      var records: [StoredLogRecord] = []
      let batch = try segment.batch(at: position, size: header.size)
      try batch.withUnsafeBytes { raw in
        try RecordBatch.decodeRecords(
          raw, header: header, from: header.baseOffset, below: end, into: &records, limit: .max)
      }
      if let record = records.first(where: { $0.timestamp >= timestamp }) {
        return (record.offset, record.timestamp)
      }
      // The header's max timestamp said yes but no record does: trust the records, go on.
    }
    return nil
  }

  /// The producer fields of the durable batches in the last `window` bytes of the partition,
  /// oldest first: what a broker rebuilds its idempotent-producer state from after a restart.
  func recentBatches(window: Int64) throws -> [StoredBatchInfo] {
    let (snapshot, sizes, end) = lock.withLock { (segments, segments.map(\.size), durableEnd) }
    var remaining = window
    var first = snapshot.count - 1
    while first > 0 && remaining > sizes[first] {
      remaining -= sizes[first]
      first -= 1
    }
    var out: [StoredBatchInfo] = []
    for i in first..<snapshot.count {
      try snapshot[i].forEachBatch(segmentEnd: sizes[i]) { header, position, bytes in
        if header.baseOffset >= end { return false }
        let fields = ProducerFields(bytes)
        if fields.producerID >= 0 {
          out.append(
            try Self.info(header: header, fields: fields, in: snapshot[i], at: position))
        }
        return true
      }
    }
    return out
  }

  /// The transactional batches and transaction markers among the durable batches holding
  /// offsets at or after `offset` (from the partition's start if `offset` is before it), oldest
  /// first, and the end they were read up to: what a broker rebuilds, and then follows, each
  /// partition's open and aborted transactions from. Only headers are read, hopping from one to
  /// the next, and the few bytes of each marker.
  func transactionBatches(from offset: Int64) throws -> (batches: [StoredBatchInfo], end: Int64) {
    let (snapshot, sizes, end) = lock.withLock { (segments, segments.map(\.size), durableEnd) }
    var out: [StoredBatchInfo] = []
    let from = max(offset, snapshot.first!.baseOffset)
    guard from < end else { return (out, end) }
    for i in Self.segmentIndex(holding: from, in: snapshot)..<snapshot.count {
      let segment = snapshot[i]
      let start =
        from > segment.baseOffset
        ? segment.index.position(atOrBefore: UInt32(from - segment.baseOffset)) : 0
      var stop = false
      try segment.forEachBatchHeader(from: start, segmentEnd: sizes[i]) { header, position, bytes in
        if header.baseOffset >= end {
          stop = true
          return false
        }
        if header.nextOffset > from && (header.isTransactional || header.isControl) {
          out.append(
            try Self.info(header: header, fields: ProducerFields(bytes), in: segment, at: position))
        }
        return true
      }
      if stop { break }
    }
    return (out, end)
  }

  private static func info(
    header: RecordBatch.Header, fields: ProducerFields, in segment: Segment, at position: Int64
  ) throws -> StoredBatchInfo {
    var marker: TransactionMarker?
    if header.isControl {
      let batch = try segment.batch(at: position, size: header.size)
      marker = batch.withUnsafeBytes { TransactionMarker.read($0) }
    }
    return StoredBatchInfo(
      baseOffset: header.baseOffset, lastOffset: header.lastOffset,
      recordCount: Int(header.recordCount), producer: fields,
      maxTimestamp: header.maxTimestamp, isTransactional: header.isTransactional, marker: marker)
  }

  /// The last segment whose base offset is at or below `offset`.
  static func segmentIndex(holding offset: Int64, in segments: [Segment]) -> Int {
    var low = 0
    var high = segments.count - 1
    while low < high {
      let mid = (low + high + 1) / 2
      if segments[mid].baseOffset <= offset { low = mid } else { high = mid - 1 }
    }
    return low
  }
}
