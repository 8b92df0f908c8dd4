import SluiceCore

#if canImport(Glibc)
  import Glibc
#endif

/// One segment of a partition: `<base offset, 20 digits>.log` plus its sparse ``OffsetIndex`` and
/// ``TimeIndex``, like Kafka's LogSegment. Recovery is a method of the segment.
///
/// Not thread-safe by itself: its ``PartitionLog`` serialises writes; reads use `pread` on the
/// open descriptor, which stays valid while a reader holds the segment (closed in `deinit`).
final class Segment: @unchecked Sendable {
  // @unchecked: mutated only by the writer thread committing its partition, under the
  // partition's lock; other threads only `pread` or `fdatasync` the descriptor, which is safe
  // concurrently.
  let baseOffset: Int64
  let logPath: String
  let index: OffsetIndex
  let timeIndex: TimeIndex
  /// Whether the time index file was absent when the segment was opened (a segment written
  /// before time indexes existed): opening it rebuilds the index.
  private let timeIndexIsNew: Bool
  private let file: PooledFile
  private let indexIntervalBytes: Int

  /// Bytes of complete batches in the file.
  private(set) var size: Int64 = 0
  /// The offset the next batch in this segment would get.
  private(set) var nextOffset: Int64
  /// Timestamp of the first batch and the largest timestamp seen (retention by age).
  private(set) var firstTimestamp: Int64?
  private(set) var maxTimestamp: Int64?
  /// Wall-clock time of the first append since this process opened the segment: roll by age
  /// goes by it, not by record timestamps, which producers may set far in the past.
  private(set) var firstAppendMs: Int64?
  private var bytesSinceIndexEntry = 0

  static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
    let digits = String(baseOffset)
    return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
  }

  init(directory: String, baseOffset: Int64, indexIntervalBytes: Int, files: DescriptorPool) throws
  {
    self.baseOffset = baseOffset
    self.nextOffset = baseOffset
    self.indexIntervalBytes = indexIntervalBytes
    logPath = directory + "/" + Self.fileName(baseOffset, ".log")
    file = try PooledFile(path: logPath, flags: O_RDWR | O_CREAT, pool: files)
    index = try OffsetIndex(
      path: directory + "/" + Self.fileName(baseOffset, ".index"), files: files)
    let timePath = directory + "/" + Self.fileName(baseOffset, ".timeindex")
    timeIndexIsNew = access(timePath, F_OK) != 0
    timeIndex = try TimeIndex(path: timePath, files: files)
  }

  /// Adds the index entries for a batch about to lie at `position` when the offset index is
  /// due one: the time index says that everything before it is at or below the largest
  /// timestamp so far.
  private func indexBatch(baseOffset batchBase: Int64, at position: Int64) throws {
    guard bytesSinceIndexEntry >= indexIntervalBytes else { return }
    let relative = UInt32(batchBase - baseOffset)
    try index.append(.init(relativeOffset: relative, position: UInt32(position)))
    if let maxTimestamp {
      try timeIndex.append(.init(timestamp: maxTimestamp, relativeOffset: relative))
    }
    bytesSinceIndexEntry = 0
  }

  func readBytes(count: Int, at position: Int64) throws -> [UInt8] {
    try file.use { try FileIO.read($0, count: count, at: position, path: logPath) }
  }

  /// Reads up to `buffer.count` bytes at `position` into `buffer`; returns how many were read
  /// (fewer at the end of the file).
  func readBytes(into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
    try file.use { FileIO.read($0, into: buffer, at: position) }
  }

  private func fileSize() throws -> Int64 {
    try file.use { try FileIO.size($0, path: logPath) }
  }

  // MARK: - Writing

  /// Appends an encoded batch, writing `header.baseOffset` over its first 8 bytes on disk (they
  /// are outside the CRC), so the caller's buffer is never copied to patch it.
  func append(_ batch: [UInt8], header: RecordBatch.Header) throws {
    try indexBatch(baseOffset: header.baseOffset, at: size)
    try file.use(writes: true) { fd in
      try withUnsafeBytes(of: header.baseOffset.bigEndian) {
        try FileIO.writeAll(fd, $0, at: size, path: logPath)
      }
      try batch.withUnsafeBytes {
        try FileIO.writeAll(
          fd, UnsafeRawBufferPointer(rebasing: $0[8...]), at: size + 8, path: logPath)
      }
    }
    size += Int64(batch.count)
    bytesSinceIndexEntry += batch.count
    nextOffset = header.nextOffset
    if firstTimestamp == nil { firstTimestamp = header.baseTimestamp }
    if firstAppendMs == nil { firstAppendMs = currentTimeMillis() }
    maxTimestamp = max(maxTimestamp ?? header.maxTimestamp, header.maxTimestamp)
  }

  func sync() throws { try file.sync() }

  /// Makes the segment read-only for good: syncs data and index (called when it rolls).
  func seal() throws {
    try sync()
    try index.sync()
    try timeIndex.sync()
  }

  // MARK: - Opening and recovery

  /// Opens a segment that was closed cleanly: trusts the index, walks only past its last entry.
  func loadClean() throws {
    let fileSize = try fileSize()
    try index.load(segmentSize: fileSize)
    if timeIndexIsNew && index.last != nil {
      // Written before time indexes: rebuild both from the batch headers (no CRC pass).
      try rebuildIndexes(fileSize: fileSize)
      return
    }
    let last = index.last
    let outcome = try walk(
      SegmentRecovery(
        from: last.map { Int64($0.position) } ?? 0,
        expectedOffset: baseOffset + Int64(last?.relativeOffset ?? 0), fileSize: fileSize,
        verify: false, searchPastDamage: false),
      rebuildIndex: false)
    guard case .intact = outcome else {
      // Not clean after all: fall back to a full recovery.
      _ = try recover()
      return
    }
    try timeIndex.load(relativeEnd: nextOffset - baseOffset)
    // Every record before the last offset-index entry is at or below the last time entry's
    // timestamp (an entry is added there whenever the maximum grew); the scan saw the rest.
    if let indexed = timeIndex.last?.timestamp {
      maxTimestamp = max(maxTimestamp ?? indexed, indexed)
    }
  }

  private func rebuildIndexes(fileSize: Int64) throws {
    let outcome = try rescan(fileSize: fileSize, verify: false, searchPastDamage: false)
    if case .intact = outcome { return }
    _ = try recover()
  }

  /// Forgets the indexes and what was learned of the segment, and walks it from the start
  /// again, rebuilding them.
  private func rescan(fileSize: Int64, verify: Bool, searchPastDamage: Bool) throws
    -> SegmentRecovery.Outcome
  {
    try index.reset()
    try timeIndex.reset()
    bytesSinceIndexEntry = 0
    firstTimestamp = nil
    maxTimestamp = nil
    return try walk(
      SegmentRecovery(
        from: 0, expectedOffset: baseOffset, fileSize: fileSize, verify: verify,
        searchPastDamage: searchPastDamage),
      rebuildIndex: true)
  }

  /// Scans the whole segment, verifying every batch, rebuilding the index, and cutting a torn
  /// tail. Returns the number of bytes removed. Throws when a damaged batch is followed by an
  /// intact one: that is corruption, and dropping the intact batch would lose data.
  func recover() throws -> Int64 {
    let fileSize = try fileSize()
    switch try rescan(fileSize: fileSize, verify: true, searchPastDamage: true) {
    case .intact:
      return 0
    case .corrupt(let at, let intact, _):
      throw LogError.corruptSegment(
        file: logPath, position: at,
        reason:
          "a damaged batch is followed by an intact one at byte \(intact); move the segment aside or truncate it at byte \(at) to drop everything from there"
      )
    case .torn(let at, _):
      try file.use(writes: true) { fd in
        guard ftruncate(fd, off_t(at)) == 0 else {
          throw LogError.io(path: logPath, operation: "truncate", reason: FileIO.reason())
        }
      }
      try sync()
      return fileSize - at
    }
  }

  /// Carries out `recovery` on this segment's file: reads what it asks for, indexes each valid
  /// batch (with `rebuildIndex`), learns the timestamps, and takes the size and next offset
  /// the valid batches end at.
  private func walk(_ recovery: SegmentRecovery, rebuildIndex: Bool) throws
    -> SegmentRecovery.Outcome
  {
    var recovery = recovery
    var window: [UInt8] = []
    var windowStart: Int64 = 0
    while true {
      switch window.withUnsafeBytes({ recovery.next(window: $0, at: windowStart) }) {
      case .needBytes(let position, let count):
        window = try readBytes(count: count, at: position)
        windowStart = position
        guard window.count == count else {
          // The file ends before the size it had a moment ago, or the read failed: cutting
          // anything on that basis could drop good batches.
          throw LogError.io(
            path: logPath, operation: "read",
            reason: "\(window.count) of \(count) bytes at \(position): \(FileIO.reason())")
        }
      case .batch(let header, let position):
        if rebuildIndex {
          try indexBatch(baseOffset: header.baseOffset, at: position)
          bytesSinceIndexEntry += header.size
        }
        if firstTimestamp == nil && position == 0 { firstTimestamp = header.baseTimestamp }
        maxTimestamp = max(maxTimestamp ?? header.maxTimestamp, header.maxTimestamp)
      case .end(let outcome):
        switch outcome {
        case .intact(let end, let next), .torn(let end, let next), .corrupt(let end, _, let next):
          size = end
          nextOffset = next
        }
        return outcome
      }
    }
  }

  // MARK: - Reading

  /// Appends records with offsets in `from..<end` to `out`, up to `limit` records and about
  /// `maxBytes` (always at least one record). Returns false once a limit is reached.
  /// `segmentEnd` is the segment's size as its partition last published it (the writer may
  /// be appending concurrently).
  func read(
    from: Int64, below end: Int64, segmentEnd: Int64, limit: Int, maxBytes: Int,
    skipping aborted: PartitionTransactions? = nil,
    into out: inout [StoredLogRecord],
    bytesRead: inout Int
  ) throws -> Bool {
    var position = from > baseOffset ? index.position(atOrBefore: UInt32(from - baseOffset)) : 0
    while position < segmentEnd {
      let want = Int(
        min(
          segmentEnd - position, Int64(max(maxBytes - bytesRead, 64 << 10) + RecordBatch.headerSize)
        ))
      let chunk = try readBytes(count: want, at: position)
      var local = 0
      var progressed = false
      while local + RecordBatch.headerSize <= chunk.count {
        let header = chunk.withUnsafeBytes {
          RecordBatch.header(UnsafeRawBufferPointer(rebasing: $0[local...]))
        }
        guard let header else {
          throw LogError.corruptSegment(
            file: logPath, position: position + Int64(local), reason: "not a record batch")
        }
        if local + header.size > chunk.count {
          if !progressed {
            // A batch larger than the window: read exactly it.
            let whole = try readBytes(count: header.size, at: position + Int64(local))
            guard whole.count == header.size else {
              throw LogError.corruptSegment(
                file: logPath, position: position, reason: "batch runs past the end of the file")
            }
            if try !decode(
              whole[...], header: header, at: position, from: from, below: end, limit: limit,
              maxBytes: maxBytes, skipping: aborted, into: &out, bytesRead: &bytesRead)
            {
              return false
            }
            local += header.size
          }
          break
        }
        if header.nextOffset > from {
          if try !decode(
            chunk[local..<(local + header.size)], header: header, at: position + Int64(local),
            from: from, below: end, limit: limit, maxBytes: maxBytes, skipping: aborted,
            into: &out, bytesRead: &bytesRead)
          {
            return false
          }
        }
        if header.nextOffset >= end { return false }
        local += header.size
        progressed = true
      }
      position += Int64(local)
      if local == 0 { break }
    }
    return true
  }

  private func decode(
    _ batch: ArraySlice<UInt8>, header: RecordBatch.Header, at position: Int64, from: Int64,
    below end: Int64, limit: Int,
    maxBytes: Int, skipping aborted: PartitionTransactions?, into out: inout [StoredLogRecord],
    bytesRead: inout Int
  ) throws -> Bool {
    if bytesRead >= maxBytes && !out.isEmpty { return false }
    if let aborted, header.isTransactional, aborted.isAbortedBatch(at: header.baseOffset) {
      // A batch of an aborted transaction: not records to a read_committed reader.
      return header.nextOffset < end
    }
    try batch.withUnsafeBytes { raw in
      guard RecordBatch.crcIsValid(raw, header: header) else {
        throw LogError.corruptSegment(
          file: logPath, position: position,
          reason: "CRC-32C mismatch in the batch at offset \(header.baseOffset)")
      }
      do {
        try RecordBatch.decodeRecords(
          raw, header: header, from: from, below: end, into: &out, limit: limit)
      } catch let error as RecordBatch.UndecodableRecords {
        throw LogError.corruptSegment(
          file: logPath, position: position,
          reason: "undecodable records in the batch at offset \(header.baseOffset): \(error.reason)"
        )
      } catch {
        throw LogError.corruptSegment(
          file: logPath, position: position, reason: "undecodable records")
      }
    }
    bytesRead += header.size
    return out.count < limit && header.nextOffset < end
  }
}
