import SluiceCompression
import SluiceCore

/// When an append counts as durable (`log.fsync`).
public enum FsyncPolicy: Sendable, Equatable {
  /// fdatasync before acknowledging; concurrent appends share one (group commit).
  case batch
  /// Acknowledge after the write; fdatasync every `every`.
  case interval(every: Duration)
  /// Leave flushing to the OS (fsync only on close).
  case none
}

/// How the embedded log rolls, retains and syncs its segments.
public struct LogConfiguration: Sendable {
  public var segmentBytes: Int64
  /// How long a segment takes appends before it is rolled; nil: only by size.
  public var segmentMaxAge: Duration?
  /// How old a sealed segment's newest record may get before it is deleted; nil: no limit.
  public var retention: Duration?
  public var retentionBytes: Int64?
  public var indexIntervalBytes: Int
  public var fsync: FsyncPolicy
  public var maxRecordBytes: Int
  /// How often retention runs (on the ticker thread).
  public var retentionCheckInterval: Duration
  /// Threads that write and fdatasync partitions; this many partitions commit side by side.
  public var writerThreads: Int
  /// Topics the log may hold; creating one more is refused (templated topics from outside).
  public var maxTopics: Int
  /// Segment and index files kept open at once (idle ones past it are closed until needed);
  /// nil: half the process's descriptor limit (``DescriptorPool``).
  public var maxOpenFiles: Int?
  /// The codec of the batches the log encodes itself (Kafka's `compression.type` for a
  /// producer); batches Kafka clients produce keep theirs, as Kafka's `producer` setting does.
  public var compression: RecordBatchCompression

  public init(
    segmentBytes: Int64 = 256 << 20, segmentMaxAge: Duration? = .seconds(7 * 86_400),
    retention: Duration? = .seconds(168 * 3_600),
    retentionBytes: Int64? = nil, indexIntervalBytes: Int = 4096, fsync: FsyncPolicy = .batch,
    maxRecordBytes: Int = 1 << 20, retentionCheckInterval: Duration = .seconds(60),
    writerThreads: Int = 4, maxTopics: Int = 10_000, maxOpenFiles: Int? = nil,
    compression: RecordBatchCompression = .none
  ) {
    self.segmentBytes = segmentBytes
    self.segmentMaxAge = segmentMaxAge
    self.retention = retention
    self.retentionBytes = retentionBytes
    self.indexIntervalBytes = indexIntervalBytes
    self.fsync = fsync
    self.maxRecordBytes = maxRecordBytes
    self.retentionCheckInterval = retentionCheckInterval
    self.writerThreads = writerThreads
    self.maxTopics = maxTopics
    self.maxOpenFiles = maxOpenFiles
    self.compression = compression
  }
}

/// A header of a log record: the runtime's own header type, so records reach the log without
/// being converted.
public typealias LogHeader = RecordHeader

/// A record to append: the runtime's ``OutgoingRecord`` itself, so a send is encoded straight
/// from the records the writer routed, not from a copy of each.
public typealias LogRecord = OutgoingRecord

extension OutgoingRecord {
  /// Bytes that count against `maxRecordBytes`.
  var payloadSize: Int {
    (key?.count ?? 0) + (value?.count ?? 0)
      + headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
  }
}

/// A record read back, with its offset.
public struct StoredLogRecord: Sendable, Equatable {
  public var offset: Int64
  public var timestamp: Int64
  public var key: [UInt8]?
  public var value: [UInt8]?
  public var headers: [LogHeader]
}

/// What went wrong in the log, with what a user needs to act on it.
public enum LogError: Error, CustomStringConvertible, Sendable {
  case locked(directory: String, pid: String)
  case invalidTopicName(String, reason: String)
  case unknownTopic(String)
  case unknownPartition(String, Int, partitions: Int)
  case recordTooLarge(size: Int, limit: Int)
  case timestampOutOfRange(Int64)
  case topicLimitReached(String, limit: Int)
  case offsetOutOfRange(topic: String, partition: Int, requested: Int64, start: Int64, end: Int64)
  case corruptSegment(file: String, position: Int64, reason: String)
  case notWritable(path: String, reason: String)
  case io(path: String, operation: String, reason: String)
  case closed

  public var description: String {
    switch self {
    case .locked(let directory, let pid):
      "data directory \(directory) is in use by another Sluice worker (pid \(pid)); stop it or use another data_dir"
    case .invalidTopicName(let name, let reason): "invalid topic name '\(name)': \(reason)"
    case .unknownTopic(let name): "unknown topic '\(name)'"
    case .unknownPartition(let topic, let p, let count):
      "topic '\(topic)' has no partition \(p) (it has \(count))"
    case .recordTooLarge(let size, let limit):
      "record of \(size) bytes is larger than the limit of \(limit) bytes"
    case .topicLimitReached(let name, let limit):
      "cannot create topic '\(name)': the log holds \(limit) topics, the most max_topics allows"
    case .timestampOutOfRange(let timestamp):
      "timestamp \(timestamp) is outside 0...\(RecordTimestamp.valid.upperBound) (ms since 1970, up to year 9999)"
    case .offsetOutOfRange(let topic, let p, let requested, let start, let end):
      "offset \(requested) is out of range for \(topic)/\(p): readable offsets are \(start)..<\(end)"
    case .corruptSegment(let file, let position, let reason):
      "segment \(file) is corrupt at byte \(position): \(reason)"
    case .notWritable(let path, let reason): "cannot write to \(path): \(reason)"
    case .io(let path, let operation, let reason): "\(operation) \(path) failed: \(reason)"
    case .closed: "the log is closed"
    }
  }
}
