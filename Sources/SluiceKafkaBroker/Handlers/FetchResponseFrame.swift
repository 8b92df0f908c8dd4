import NIOCore
import SluiceKafka
import SluiceLog

/// A Fetch response frame as the buffers the listener writes in order, one gathered write:
/// the fields, laid out exactly as ``FetchResponse`` lays them out (versions 4–12), between the
/// partitions' record sets, which are the stored batches as they were read from the segment
/// (``RecordSet``), never copied into the frame.
struct FetchResponseFrame {
  let version: Int16
  /// The buffers so far; the fields written since the last record set are still in `writer`.
  private var parts: [ByteBuffer] = []
  private var writer = KafkaWriter(capacity: 128)
  private var flexible: Bool { version >= 12 }

  /// The frame's start: size (set by ``finish()``), header, top-level fields (no fetch session:
  /// session id 0), and the count of `topicCount` topics to follow.
  init(correlationId: Int32, version: Int16, topicCount: Int) {
    self.version = version
    _ = writer.reserveLengthPrefix()
    ResponseHeader(correlationId: correlationId)
      .write(to: &writer, version: ApiKey.fetch.responseHeaderVersion(for: version))
    writer.writeInt32(0)  // throttle time
    if version >= 7 {
      writer.writeInt16(0)  // error code
      writer.writeInt32(0)  // session id
    }
    writeCount(topicCount)
  }

  /// Starts a topic of `partitionCount` partitions.
  mutating func startTopic(_ name: String, partitionCount: Int) {
    if flexible { writer.writeCompactString(name) } else { writer.writeString(name) }
    writeCount(partitionCount)
  }

  /// One partition's answer: its fields from `answer` (whose `records` is not used) and
  /// `records` as its record set.
  mutating func addPartition(_ answer: FetchResponse.PartitionData, records: ByteBuffer) {
    writer.writeInt32(answer.partitionIndex)
    writer.writeInt16(answer.errorCode)
    writer.writeInt64(answer.highWatermark)
    writer.writeInt64(answer.lastStableOffset)
    if version >= 5 { writer.writeInt64(answer.logStartOffset) }
    writer.writeArray(answer.abortedTransactions, compact: flexible) { writer, element in
      element.write(to: &writer, version: version)
    }
    if version >= 11 { writer.writeInt32(answer.preferredReadReplica) }
    let count = min(records.readableBytes, Int(Int32.max) - 1)
    if flexible {
      writer.writeUnsignedVarint(UInt32(count + 1))
    } else {
      writer.writeInt32(Int32(count))
    }
    if count > 0 {
      parts.append(ByteBuffer(bytes: writer.bytes))
      parts.append(records.getSlice(at: records.readerIndex, length: count)!)
      writer = KafkaWriter(capacity: 64)
    }
    if flexible {
      var tagged = KafkaTaggedFields()
      let version = version
      if answer.divergingEpoch != FetchResponse.EpochEndOffset() {
        tagged.add(tag: 0) { answer.divergingEpoch.write(to: &$0, version: version) }
      }
      if answer.currentLeader != FetchResponse.LeaderIdAndEpoch() {
        tagged.add(tag: 1) { answer.currentLeader.write(to: &$0, version: version) }
      }
      if answer.snapshotId != FetchResponse.SnapshotId() {
        tagged.add(tag: 2) { answer.snapshotId.write(to: &$0, version: version) }
      }
      writer.writeTaggedFields(tagged)
    }
  }

  /// Ends a topic.
  mutating func endTopic() {
    if flexible { writer.writeTaggedFields(KafkaTaggedFields()) }
  }

  /// The whole frame, its size set.
  consuming func finish() -> [ByteBuffer] {
    if flexible { writer.writeTaggedFields(KafkaTaggedFields()) }
    parts.append(ByteBuffer(bytes: writer.bytes))
    let size = parts.reduce(0) { $0 + $1.readableBytes } - 4
    parts[0].setInteger(Int32(size), at: parts[0].readerIndex)
    return parts
  }

  private mutating func writeCount(_ count: Int) {
    if flexible { writer.writeCompactArrayCount(count) } else { writer.writeArrayCount(count) }
  }
}

/// One partition's record set in a fetch: stored batches read from the segment straight into
/// the buffer the listener sends (``BatchReadBuffer``).
struct RecordSet: BatchReadBuffer {
  private(set) var buffer = ByteBuffer()

  mutating func appendBytes(
    upTo count: Int, _ read: (UnsafeMutableRawBufferPointer) throws -> Int
  ) throws {
    // The first read (nearly always the only one) gets a buffer of its exact size.
    if buffer.capacity == 0 { buffer = ByteBufferAllocator().buffer(capacity: count) }
    try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { room in
      try read(UnsafeMutableRawBufferPointer(rebasing: room.prefix(count)))
    }
  }
}
