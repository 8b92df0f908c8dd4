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
      fsync: policy, maxRecordBytes: maxRecordBytes, maxTopics: maxTopics)
  }
}
