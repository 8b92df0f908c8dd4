/// Whole batches as they lie in a segment, for a Kafka fetch (no decode, no re-encode), and the
/// batch headers a broker rebuilds state or looks up timestamps from.
extension Segment {
  /// Reads into `out` the stored batches that hold offsets at or after `from` and lie wholly
  /// below `end`, while the bytes taken (`taken`, the caller's running count) stay within
  /// `maxBytes` (the first batch always, whatever its size, as Kafka does so that one large batch
  /// cannot stall a consumer). The batches are read once, straight into `out`, from the first
  /// one wanted; only the few headers between the index entry and that batch are read apart.
  /// Returns false when it stopped for the byte limit or `end`, true when the segment ran out.
  func readBatches<Buffer: BatchReadBuffer>(
    from: Int64, below end: Int64, segmentEnd: Int64, maxBytes: Int, taken: inout Int,
    into out: inout Buffer
  ) throws -> Bool {
    let start = from > baseOffset ? index.position(atOrBefore: UInt32(from - baseOffset)) : 0
    guard let (position, first) = try firstBatch(from: from, at: start, segmentEnd: segmentEnd)
    else { return true }
    if first.baseOffset >= end || (taken > 0 && taken + first.size > maxBytes) { return false }
    let want = Int(min(segmentEnd - position, Int64(max(maxBytes - taken, first.size))))
    var stopped = false
    var kept = 0
    try out.appendBytes(upTo: want) { room in
      // Read as far as the batches taken so far plus a little, not all of `want` at once: the
      // batch that no longer fits the limit is not read (with 1 MiB batches, up to half a fetch).
      var filled = 0
      func fill(to target: Int) throws {
        let target = min(want, target)
        guard target > filled else { return }
        let range = filled..<target
        guard
          try readBytes(
            into: UnsafeMutableRawBufferPointer(rebasing: room[range]),
            at: position + Int64(filled)) == range.count
        else {
          throw LogError.corruptSegment(
            file: logPath, position: position + Int64(filled), reason: "truncated batch")
        }
        filled = target
      }
      // Whole batches below `end` and within the limit; a partial one at the end of the room
      // (cut short by the limit) is left for the next fetch.
      while kept < want {
        try fill(to: kept + RecordBatch.headerSize + Self.readAhead)
        // A room cut short by the limit may end inside a header; one that reaches the
        // segment's end may not.
        if kept + RecordBatch.headerSize > want && want < segmentEnd - position { break }
        guard kept + RecordBatch.headerSize <= want,
          let header = RecordBatch.header(UnsafeRawBufferPointer(rebasing: room[kept..<filled]))
        else {
          throw LogError.corruptSegment(
            file: logPath, position: position + Int64(kept), reason: "not a record batch")
        }
        if position + Int64(kept + header.size) > segmentEnd {
          throw LogError.corruptSegment(
            file: logPath, position: position + Int64(kept), reason: "not a record batch")
        }
        if header.baseOffset >= end || kept + header.size > want
          || (taken + kept > 0 && taken + kept + header.size > maxBytes)
        {
          stopped = true
          break
        }
        try fill(to: kept + header.size)
        kept += header.size
      }
      return kept
    }
    taken += kept
    return !stopped && position + Int64(kept) == segmentEnd
  }

  /// How far past the batches taken a read of ``readBatches(from:below:segmentEnd:maxBytes:taken:into:)``
  /// goes: the next headers, and small batches, come with the same read.
  static let readAhead = 16 << 10

  /// The position and header of the first batch at or after `start` that holds an offset at or
  /// after `from`, or nil when the segment has none. Reads headers in small chunks: the batches
  /// it skips lie between an index entry and the batch wanted, a few KiB at most.
  private func firstBatch(from: Int64, at start: Int64, segmentEnd: Int64) throws
    -> (Int64, RecordBatch.Header)?
  {
    var position = start
    var chunk: [UInt8] = []
    var chunkStart = start
    while position < segmentEnd {
      if position + Int64(RecordBatch.headerSize) > chunkStart + Int64(chunk.count) {
        chunk = try readBytes(count: Int(min(segmentEnd - position, 16 << 10)), at: position)
        chunkStart = position
      }
      let local = Int(position - chunkStart)
      guard local + RecordBatch.headerSize <= chunk.count,
        let header = chunk.withUnsafeBytes({
          RecordBatch.header(UnsafeRawBufferPointer(rebasing: $0[local...]))
        }), position + Int64(header.size) <= segmentEnd
      else {
        throw LogError.corruptSegment(
          file: logPath, position: position, reason: "not a record batch")
      }
      if header.nextOffset > from { return (position, header) }
      position += Int64(header.size)
    }
    return nil
  }

  /// Calls `body` with each batch's header, its position in the file and its first 61 bytes,
  /// in order from the batch at `start`, until it returns false.
  func forEachBatch(
    from start: Int64 = 0, segmentEnd: Int64,
    _ body: (RecordBatch.Header, Int64, ArraySlice<UInt8>) throws -> Bool
  ) throws {
    var position = start
    var chunk: [UInt8] = []
    var chunkStart: Int64 = 0
    while position < segmentEnd {
      if position + Int64(RecordBatch.headerSize) > chunkStart + Int64(chunk.count) {
        chunk = try readBytes(count: Int(min(segmentEnd - position, 1 << 20)), at: position)
        chunkStart = position
      }
      let local = Int(position - chunkStart)
      guard local + RecordBatch.headerSize <= chunk.count,
        let header = chunk.withUnsafeBytes({
          RecordBatch.header(UnsafeRawBufferPointer(rebasing: $0[local...]))
        })
      else {
        throw LogError.corruptSegment(
          file: logPath, position: position, reason: "not a record batch")
      }
      if try !body(header, position, chunk[local..<(local + RecordBatch.headerSize)]) { return }
      position += Int64(header.size)
    }
  }

  /// The whole batch stored at `position` (its first byte), for decoding one batch's records.
  func batch(at position: Int64, size: Int) throws -> [UInt8] {
    try readBytes(count: size, at: position)
  }

  /// Like ``forEachBatch(from:segmentEnd:_:)`` but reads only the headers, hopping from one to
  /// the next in small chunks, so that large batches are skipped unread.
  func forEachBatchHeader(
    from start: Int64, segmentEnd: Int64,
    _ body: (RecordBatch.Header, Int64, ArraySlice<UInt8>) throws -> Bool
  ) throws {
    var position = start
    var chunk: [UInt8] = []
    var chunkStart = start
    while position < segmentEnd {
      if position < chunkStart
        || position + Int64(RecordBatch.headerSize) > chunkStart + Int64(chunk.count)
      {
        chunk = try readBytes(count: Int(min(segmentEnd - position, 16 << 10)), at: position)
        chunkStart = position
      }
      let local = Int(position - chunkStart)
      guard local + RecordBatch.headerSize <= chunk.count,
        let header = chunk.withUnsafeBytes({
          RecordBatch.header(UnsafeRawBufferPointer(rebasing: $0[local...]))
        }), position + Int64(header.size) <= segmentEnd
      else {
        throw LogError.corruptSegment(
          file: logPath, position: position, reason: "not a record batch")
      }
      if try !body(header, position, chunk[local..<(local + RecordBatch.headerSize)]) { return }
      position += Int64(header.size)
    }
  }
}
