import SluiceCompression
import SluiceCore
import SluiceLog

extension EmbeddedStoreConfig {
  /// The embedded log's settings from the worker file's `log:` section.
  var logConfiguration: LogConfiguration {
    let policy: FsyncPolicy =
      switch fsync {
      case .batch: .batch
      case .interval: .interval(every: fsyncInterval)
      case .none: .none
      }
    return LogConfiguration(
      segmentBytes: segmentBytes, segmentMaxAge: segmentAge, retention: retention,
      retentionBytes: retentionBytes,
      fsync: policy, maxRecordBytes: maxRecordBytes, maxTopics: maxTopics,
      compression: compression.codec)
  }
}

extension CompressionType {
  /// The codec Kafka's attributes bits name for this `compression.type`.
  var codec: RecordBatchCompression {
    switch self {
    case .none: .none
    case .gzip: .gzip
    case .snappy: .snappy
    case .lz4: .lz4
    case .zstd: .zstd
    }
  }
}
