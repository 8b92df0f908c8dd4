/// One partition's records already in Kafka's record format (RecordBatch v2), in one buffer
/// that leaves room for the batch's header: what a source that makes many small
/// records (a snapshot) builds on its own threads, so the store frames, checksums and writes
/// them without looking at a record, and no record becomes an object of its own
/// (``SourceTaskContext/send(encoded:committing:)``). The embedded log encodes its batches
/// with it too.
///
/// A class, used by one task at a time: the source fills it and hands it to the send, which
/// takes the buffer out (``takeBytes()``) to write the header into. A value would be copied
/// whole there whenever a second copy of it were still alive on the way (a capture, an
/// argument), and a send's buffer is megabytes.
///
/// Each record is `length varint | attributes i8 | timestampDelta varint | offsetDelta varint |
/// key | value | header count varint | headers`, lengths and deltas zigzag varints, deltas from
/// the first record's timestamp and offset (Kafka's protocol guide, "Record").
///
/// Made with a compressor (``RecordsCompressor``), it compresses the records as they come, on
/// the source's thread, a chunk at a time; the newest record stays uncompressed until the next
/// comes (so ``removeLast()`` can take it back), and the stream ends when the store takes the
/// bytes.
public final class EncodedRecords: @unchecked Sendable {
  /// Bytes of the batch header before the records: the first bytes of ``bytes``, zero until
  /// the store fills them in.
  public static let headerSize = 61

  /// What the records hold so far, in one stored value: each access to a class's stored
  /// property is checked for exclusivity at run time, so a record's append makes one.
  private struct Contents {
    var bytes: [UInt8]
    var count = 0
    var firstTimestamp: Int64 = 0
    var minTimestamp: Int64 = 0
    var maxTimestamp: Int64 = 0
    var largestPayload = 0
    var keyValueBytes = 0
    /// Where the last record starts in `bytes`, or in `pending` when compressing
    /// (``EncodedRecords/removeLast()``); nil once it was taken, until the next append.
    var lastStart: Int? = nil
    /// The codec the records after the header's room are in, if any, and the records not
    /// compressed yet, `pendingCount` of them: the newest always among them.
    var compressor: (any RecordsCompressor)? = nil
    var pending: [UInt8] = []
    var pendingCount = 0

    mutating func append(
      timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader]
    ) {
      if count == 0 {
        firstTimestamp = timestamp
        minTimestamp = timestamp
        maxTimestamp = timestamp
      } else {
        minTimestamp = min(minTimestamp, timestamp)
        maxTimestamp = max(maxTimestamp, timestamp)
      }
      let keyValue = (key?.count ?? 0) + (value?.count ?? 0)
      var payload = keyValue
      for header in headers { payload += header.name.utf8.count + (header.value?.count ?? 0) }
      // Wrapping: a timestamp far from the first is refused by the store (its valid range),
      // and must not trap here first.
      if compressor != nil {
        // The records before this one are compressed once they fill a chunk.
        if pending.count >= EncodedRecords.compressionChunk { compressPending() }
        lastStart = pending.count
        pendingCount += 1
        EncodedRecords.write(
          into: &pending, timestampDelta: timestamp &- firstTimestamp, offsetDelta: Int64(count),
          key: key, value: value, headers: headers)
      } else {
        lastStart = bytes.count
        EncodedRecords.write(
          into: &bytes, timestampDelta: timestamp &- firstTimestamp, offsetDelta: Int64(count),
          key: key, value: value, headers: headers)
      }
      count += 1
      largestPayload = max(largestPayload, payload)
      keyValueBytes += keyValue
    }

    /// Compresses the pending records onto `bytes`.
    mutating func compressPending() {
      guard let compressor, !pending.isEmpty else { return }
      pending.withUnsafeBytes { compressor.compress($0, appendingTo: &bytes) }
      pending.removeAll(keepingCapacity: true)
      pendingCount = 0
      lastStart = nil
    }
  }

  /// Uncompressed bytes a compressing ``EncodedRecords`` gathers before it compresses them:
  /// LZ4's block size, so each compression call makes one block.
  public static let compressionChunk = 64 << 10

  private var contents: Contents

  /// The header's room, then the records.
  public var bytes: [UInt8] { contents.bytes }
  public var count: Int { contents.count }
  /// The first record's timestamp (the batch's base), the smallest and the largest.
  public var firstTimestamp: Int64 { contents.firstTimestamp }
  public var minTimestamp: Int64 { contents.minTimestamp }
  public var maxTimestamp: Int64 { contents.maxTimestamp }
  /// Key, value and header bytes of the largest record: what a store's record limit is about.
  public var largestPayload: Int { contents.largestPayload }
  /// Key and value bytes of all of them (the runtime's `bytes` metric).
  public var keyValueBytes: Int { contents.keyValueBytes }

  /// Empty, in `buffer`'s storage (a buffer used before, kept to spare `malloc` the pages)
  /// with room for `capacity` bytes of records (compressed, with a `compressor`).
  public init(
    reusing buffer: consuming [UInt8] = [], capacity: Int = 0,
    compressor: (any RecordsCompressor)? = nil
  ) {
    var bytes = consume buffer
    bytes.removeAll(keepingCapacity: true)
    bytes.reserveCapacity(Self.headerSize + capacity)
    bytes.append(contentsOf: repeatElement(0, count: Self.headerSize))
    compressor?.start(appendingTo: &bytes)
    contents = Contents(bytes: bytes, compressor: compressor)
    if compressor != nil { contents.pending.reserveCapacity(Self.compressionChunk + 4096) }
  }

  public var isEmpty: Bool { count == 0 }

  /// Bytes of records (the buffer without the header's room), those compressed so far as
  /// they are compressed.
  public var recordBytes: Int { contents.bytes.count - Self.headerSize + contents.pending.count }

  /// Whether the records are compressed (made with a ``RecordsCompressor``).
  public var isCompressed: Bool { contents.compressor != nil }

  /// The codec the records are in, as a batch's attributes name it (0: none).
  public var codec: Int16 { contents.compressor?.codec ?? 0 }

  public func append(_ record: OutgoingRecord) {
    contents.append(
      timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers)
  }

  /// Appends one record at offset delta ``count``.
  public func append(
    timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader]
  ) {
    contents.append(timestamp: timestamp, key: key, value: value, headers: headers)
  }

  /// One record's bytes.
  fileprivate static func write(
    into bytes: inout [UInt8], timestampDelta: Int64, offsetDelta: Int64, key: [UInt8]?,
    value: [UInt8]?, headers: [RecordHeader]
  ) {
    // The length prefix comes first, so the record is sized before it is written.
    var size = 1 + varintSize(timestampDelta) + varintSize(offsetDelta)
    size += lengthPrefixedSize(key?.count) + lengthPrefixedSize(value?.count)
    size += varintSize(Int64(headers.count))
    for header in headers {
      size +=
        lengthPrefixedSize(header.name.utf8.count) + lengthPrefixedSize(header.value?.count)
    }
    varint(Int64(size), to: &bytes)
    bytes.append(0)  // record attributes
    varint(timestampDelta, to: &bytes)
    varint(offsetDelta, to: &bytes)
    lengthPrefixed(key, to: &bytes)
    lengthPrefixed(value, to: &bytes)
    varint(Int64(headers.count), to: &bytes)
    for header in headers {
      varint(Int64(header.name.utf8.count), to: &bytes)
      bytes.append(contentsOf: header.name.utf8)
      lengthPrefixed(header.value, to: &bytes)
    }
  }

  /// The records again, for a store that does not take the encoded form (it encodes its own).
  /// Throws for compressed records, which only a store that offers a compressor gets.
  public func decoded() throws -> [OutgoingRecord] {
    if let compressor = contents.compressor {
      throw EncodedRecordsCompressed(codec: compressor.codec)
    }
    return try bytes.withUnsafeBytes { raw in
      var r = BigEndianReader(UnsafeRawBufferPointer(rebasing: raw[Self.headerSize...]))
      var records: [OutgoingRecord] = []
      records.reserveCapacity(count)
      for _ in 0..<count { records.append(try Self.record(&r, firstTimestamp: firstTimestamp)) }
      return records
    }
  }

  /// Takes the last record out and returns it: a source appends every record as it comes and
  /// takes the last back once it knows it is the last, which gets headers of its own
  /// (``EncodedSend/last``), rather than holding each record back until the next one comes.
  /// The bounds (``minTimestamp``, ``maxTimestamp``, ``largestPayload``) still count it, as the
  /// record put back does. Nil when there are no records.
  ///
  /// Compressing, only the records not compressed yet can be taken back: always the newest,
  /// and the others of its chunk.
  public func removeLast() -> OutgoingRecord? {
    guard contents.count > 0 else { return nil }
    let compressing = isCompressed
    precondition(
      !compressing || contents.pendingCount > 0,
      "EncodedRecords: the records to take back are compressed already")
    let start =
      contents.lastStart
      ?? (compressing
        ? Self.startOfLast(contents.pendingCount, in: contents.pending, from: 0)
        : Self.startOfLast(contents.count, in: contents.bytes, from: Self.headerSize))
    // Written here, so it decodes: a failure would be a bug of `write`, not of the input.
    guard
      let record = try? (compressing ? contents.pending : contents.bytes).withUnsafeBytes({ raw in
        var r = BigEndianReader(UnsafeRawBufferPointer(rebasing: raw[start...]))
        return try Self.record(&r, firstTimestamp: contents.firstTimestamp)
      })
    else { preconditionFailure("EncodedRecords: its last record does not decode") }
    if compressing {
      contents.pending.removeSubrange(start...)
      contents.pendingCount -= 1
    } else {
      contents.bytes.removeSubrange(start...)
    }
    contents.count -= 1
    contents.lastStart = nil
    contents.keyValueBytes -= (record.key?.count ?? 0) + (record.value?.count ?? 0)
    return record
  }

  /// Where the last of the `count` records from `start` in `bytes` starts, found by walking
  /// their length prefixes: for a second ``removeLast()`` in a row, which the last append did
  /// not prepare for.
  private static func startOfLast(_ count: Int, in bytes: [UInt8], from start: Int) -> Int {
    bytes.withUnsafeBytes { raw in
      var r = BigEndianReader(UnsafeRawBufferPointer(rebasing: raw[...]))
      r.position = start
      for _ in 0..<(count - 1) {
        guard let length = try? r.varint(), (try? r.skip(Int(length))) != nil else {
          preconditionFailure("EncodedRecords: a record's length does not hold")
        }
      }
      return r.position
    }
  }

  /// The record `r` is at, which it reads past.
  private static func record(
    _ r: inout BigEndianReader<UnsafeRawBufferPointer>, firstTimestamp: Int64
  ) throws
    -> OutgoingRecord
  {
    _ = try r.varint()  // length
    _ = try r.int8()  // attributes
    let timestamp = firstTimestamp &+ (try r.varint())
    _ = try r.varint()  // offset delta
    let key = try r.lengthPrefixed()
    let value = try r.lengthPrefixed()
    var headers: [RecordHeader] = []
    for _ in 0..<(try r.varint()) {
      let name = String(decoding: try r.lengthPrefixed() ?? [], as: UTF8.self)
      headers.append(RecordHeader(name: name, value: try r.lengthPrefixed()))
    }
    return OutgoingRecord(timestamp: timestamp, key: key, value: value, headers: headers)
  }

  /// Hands the buffer over (the store writes the header into it), leaving none here: the
  /// last use of the records, which keep only their count and timestamps. A compressed
  /// stream is ended first.
  public func takeBytes() -> [UInt8] {
    if let compressor = contents.compressor {
      contents.compressPending()
      compressor.finish(appendingTo: &contents.bytes)
    }
    var taken: [UInt8] = []
    swap(&taken, &contents.bytes)
    return taken
  }

  private static func varint(_ v: Int64, to bytes: inout [UInt8]) {
    var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
    while z >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: z) | 0x80)
      z >>= 7
    }
    bytes.append(UInt8(z))
  }

  /// Length-prefixed bytes; nil is length -1.
  private static func lengthPrefixed(_ data: [UInt8]?, to bytes: inout [UInt8]) {
    guard let data else { return varint(-1, to: &bytes) }
    varint(Int64(data.count), to: &bytes)
    // From the storage: the generic append retains and releases `data` on each call.
    data.withUnsafeBufferPointer { bytes.append(contentsOf: $0) }
  }

  /// Bytes of a zigzag varint.
  public static func varintSize(_ v: Int64) -> Int {
    var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
    var n = 1
    while z >= 0x80 {
      z >>= 7
      n += 1
    }
    return n
  }

  private static func lengthPrefixedSize(_ count: Int?) -> Int {
    guard let count else { return varintSize(-1) }
    return varintSize(Int64(count)) + count
  }
}

/// What ``EncodedRecords/decoded()`` throws for records compressed on a source's thread: only
/// a store that offered the compressor (and frames them as they are) takes those.
public struct EncodedRecordsCompressed: Error, CustomStringConvertible {
  public var codec: Int16
  public var description: String {
    "records compressed with codec \(codec) by their source cannot be decoded by this store"
  }
}
