/// Whole batches as they lie in a segment, for a Kafka fetch (no decode, no re-encode), and the
/// batch headers a broker rebuilds state or looks up timestamps from.
extension Segment {
  /// Appends to `out` the stored batches that hold offsets at or after `from` and lie wholly
  /// below `end`, while `out` is under `maxBytes` (the first batch always, whatever its size, as
  /// Kafka does so that one large batch cannot stall a consumer). Returns false when it stopped
  /// for the byte limit or `end`, true when the segment ran out first.
  func copyBatches(
    from: Int64, below end: Int64, segmentEnd: Int64, maxBytes: Int, into out: inout [UInt8]
  ) throws -> Bool {
    var position = from > baseOffset ? index.position(atOrBefore: UInt32(from - baseOffset)) : 0
    while position < segmentEnd {
      // One read for as many batches as the byte limit allows (and the index gap before them).
      let want = min(
        segmentEnd - position, Int64(max(maxBytes - out.count, 64 << 10) + RecordBatch.headerSize))
      let chunk = try readBytes(count: Int(want), at: position)
      var local = 0
      while local + RecordBatch.headerSize <= chunk.count {
        guard
          let header = chunk.withUnsafeBytes({
            RecordBatch.header(UnsafeRawBufferPointer(rebasing: $0[local...]))
          }), position + Int64(local + header.size) <= segmentEnd
        else {
          throw LogError.corruptSegment(
            file: logPath, position: position + Int64(local), reason: "not a record batch")
        }
        if header.baseOffset >= end { return false }
        if header.nextOffset > from {
          if !out.isEmpty && out.count + header.size > maxBytes { return false }
          if local + header.size <= chunk.count {
            out += chunk[local..<(local + header.size)]
          } else {
            out += try readBytes(count: header.size, at: position + Int64(local))
          }
        }
        local += header.size
      }
      guard local > 0 else {
        throw LogError.corruptSegment(file: logPath, position: position, reason: "truncated batch")
      }
      position += Int64(local)
    }
    return true
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
}
