import Foundation
import SluiceCore

/// One partition of one topic: its segments, the active one last. Appends come only from the
/// log's writer threads, one at a time per partition (``CommitSchedule``); reads come from any
/// thread and see only records already durable.
final class PartitionLog: @unchecked Sendable {
  // @unchecked: every mutable property is guarded by `lock`; segments are mutated only by the
  // writer thread committing this partition, or by retention, while it holds the lock, and
  // readers work on a snapshot taken under it.
  let topic: String
  let partition: Int
  /// What the writer threads append here is counted on the topic's metrics.
  let appended: TopicAppendCounters
  let directory: String
  private let configuration: LogConfiguration
  private let files: DescriptorPool
  let lock = NSLock()
  var segments: [Segment] = []
  /// Readers see offsets below this: the records made durable (per the fsync policy).
  var durableEnd: Int64 = 0
  /// What the batches read so far say of transactions (PartitionLog+Transactions.swift).
  var transactionState = PartitionTransactions()

  init(
    directory: String, topic: String, partition: Int, configuration: LogConfiguration,
    files: DescriptorPool, cleanShutdown: Bool, warn: (String) -> Void
  ) throws {
    self.files = files
    self.topic = topic
    self.partition = partition
    self.appended = TopicAppendCounters(topic: topic)
    self.directory = directory
    self.configuration = configuration
    try FileIO.makeDirectory(directory)
    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
    let bases = names.compactMap { name -> Int64? in
      guard name.hasSuffix(".log") else { return nil }
      return Int64(name.dropLast(4))
    }.sorted()
    for (i, base) in bases.enumerated() {
      let segment = try Segment(
        directory: directory, baseOffset: base,
        indexIntervalBytes: configuration.indexIntervalBytes,
        files: files)
      let isActive = i == bases.count - 1
      if isActive && !cleanShutdown {
        let removed = try segment.recover()
        if removed > 0 {
          warn(
            "recovered \(segment.logPath): cut a torn tail of \(removed) bytes after offset \(segment.nextOffset - 1)"
          )
        }
      } else {
        try segment.loadClean()
      }
      segments.append(segment)
    }
    if segments.isEmpty {
      segments.append(
        try Segment(
          directory: directory, baseOffset: 0, indexIntervalBytes: configuration.indexIntervalBytes,
          files: files)
      )
      FileIO.syncDirectory(directory)
    }
    durableEnd = segments.last!.nextOffset
  }

  var offsets: PartitionOffsets {
    lock.withLock { PartitionOffsets(start: segments.first!.baseOffset, end: durableEnd) }
  }

  // MARK: - Writing (the writer thread committing this partition only)

  /// Places an encoded batch (base offset 0) at the end of the partition, rolling the segment
  /// if it is full or old. Returns the batch's base offset and the segment now holding it.
  func write(_ batch: [UInt8], recordCount: Int, nowMs: Int64) throws -> (
    base: Int64, segment: Segment
  ) {
    try lock.withLock {
      var active = segments.last!
      let full = active.size > 0 && active.size + Int64(batch.count) > configuration.segmentBytes
      let old =
        configuration.segmentMaxAge.map { age in
          active.firstAppendMs.map { nowMs - $0 > age.inMilliseconds } ?? false
        } ?? false
      if active.size > 0 && (full || old) {
        try active.seal()
        active = try Segment(
          directory: directory, baseOffset: active.nextOffset,
          indexIntervalBytes: configuration.indexIntervalBytes, files: files)
        segments.append(active)
        FileIO.syncDirectory(directory)
      }
      let base = active.nextOffset
      var header = batch.withUnsafeBytes { RecordBatch.header($0) }!
      header.baseOffset = base
      try active.append(batch, header: header)
      return (base, active)
    }
  }

  /// Publishes records below `end` to readers.
  func markDurable(upTo end: Int64) {
    lock.withLock { durableEnd = max(durableEnd, end) }
  }

  var writtenEnd: Int64 { lock.withLock { segments.last!.nextOffset } }

  var activeSegment: Segment { lock.withLock { segments.last! } }

  /// How many segment files the partition has and their bytes (for ``LogFootprintGauges``).
  var footprint: (segments: Int, bytes: Int64) {
    lock.withLock { (segments.count, segments.reduce(0) { $0 + $1.size }) }
  }

  // MARK: - Reading

  /// Records from `offset`; with `committedOnly` (read_committed), only those below the last
  /// stable offset and none of an aborted transaction.
  func read(from offset: Int64, maxRecords: Int, maxBytes: Int, committedOnly: Bool = false)
    throws -> [StoredLogRecord]
  {
    let (snapshot, sizes, durable) = lock.withLock {
      (segments, segments.map(\.size), durableEnd)
    }
    let start = snapshot.first!.baseOffset
    if offset < start {
      throw LogError.offsetOutOfRange(
        topic: topic, partition: partition, requested: offset, start: start, end: durable)
    }
    var end = durable
    var skipping: PartitionTransactions?
    if committedOnly && offset < durable {
      let transactions = try self.transactions()
      end = transactions.lastStableOffset(highWatermark: durable)
      skipping = transactions
    }
    if offset >= end || maxRecords <= 0 { return [] }
    let low = Self.segmentIndex(holding: offset, in: snapshot)
    var out: [StoredLogRecord] = []
    out.reserveCapacity(min(maxRecords, 4096))
    var bytesRead = 0
    for i in low..<snapshot.count {
      let more = try snapshot[i].read(
        from: max(offset, snapshot[i].baseOffset), below: end, segmentEnd: sizes[i],
        limit: maxRecords, maxBytes: maxBytes, skipping: skipping,
        into: &out, bytesRead: &bytesRead)
      if !more { break }
    }
    return out
  }

  // MARK: - Retention (the ticker thread, beside writes: it never touches the active segment)

  /// Deletes whole non-active segments that are too old or beyond the size limit.
  func enforceRetention(nowMs: Int64) throws -> Int {
    let doomed: [Segment] = lock.withLock {
      var remove = 0
      var total = segments.reduce(0) { $0 + $1.size }
      for segment in segments.dropLast() {
        let expired =
          configuration.retention.map { limit in
            (segment.maxTimestamp ?? .max) < nowMs - limit.inMilliseconds
          }
          ?? false
        let oversized =
          configuration.retentionBytes.map { limit in total - segment.size >= limit } ?? false
        guard expired || oversized else { break }
        total -= segment.size
        remove += 1
      }
      let doomed = Array(segments.prefix(remove))
      segments.removeFirst(remove)
      return doomed
    }
    for segment in doomed {
      unlink(segment.logPath)
      unlink(segment.index.path)
      unlink(segment.timeIndex.path)
    }
    if !doomed.isEmpty { FileIO.syncDirectory(directory) }
    return doomed.count
  }

  func syncAll() throws {
    let active = activeSegment
    try active.sync()
    try active.index.sync()
    try active.timeIndex.sync()
  }
}
