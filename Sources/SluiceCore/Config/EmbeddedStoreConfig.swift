/// The embedded log's settings: `log:` in worker.yaml, for `store: { kind: embedded }` (the
/// default). SluiceLog turns them into its `LogConfiguration`.
public struct EmbeddedStoreConfig: Sendable, Equatable {
  /// `fsync:` — when an append counts as durable.
  public enum FsyncMode: String, Sendable { case batch, interval, none }

  public var partitions = 1
  public var segmentBytes: Int64 = 256 << 20
  /// `segment_ms`: how long a segment takes appends before it is rolled.
  public var segmentAge: Duration = .seconds(7 * 86_400)
  /// `retention_ms` / `retention_hours`: how old records may get; nil keeps them.
  public var retention: Duration? = .seconds(168 * 3_600)
  public var retentionBytes: Int64?
  public var fsync: FsyncMode = .batch
  /// `fsync_interval_ms`: with `fsync: interval`, the time between fdatasyncs.
  public var fsyncInterval: Duration = .seconds(1)
  public var maxRecordBytes = 1 << 20
  /// Topics the log may hold (`log.max_topics`): templated webhooks, the produce API and
  /// dead-letter topics create topics on first write, and this bounds them.
  public var maxTopics = 10_000
  /// `compression`: the codec of the batches the log writes for Sluice's own sources (Kafka's
  /// `compression.type`); what Kafka clients produce is kept as they compressed it.
  public var compression: CompressionType = .none

  public init() {}

  /// The `log:` section.
  init(_ node: ConfigNode) throws(ConfigError) {
    let l = try node.mapping(allowedKeys: [
      "partitions", "segment_bytes", "segment_ms", "retention_hours", "retention_ms",
      "retention_bytes", "fsync", "fsync_interval_ms", "max_record_bytes", "max_topics",
      "compression",
    ])
    partitions = try l.int("partitions", default: 1, range: 1...10_000)
    segmentBytes = try l.bytes("segment_bytes", default: segmentBytes)
    if segmentBytes < 1024, let n = l.node("segment_bytes") {
      throw n.error("a segment needs at least 1KiB")
    }
    // Index entries hold positions and offsets within a segment in 32 bits, as Kafka's do
    // (its log.segment.bytes stops at 2^31 - 1 too).
    if segmentBytes > Int64(Int32.max), let n = l.node("segment_bytes") {
      throw n.error("a segment holds at most 2GiB - 1B (2147483647 bytes), as in Kafka")
    }
    segmentAge = try l.duration("segment_ms", default: segmentAge)
    if let hours = l.node("retention_hours") {
      let ms = try hours.double() * 3_600_000
      guard ms >= 0, ms <= Double(ConfigNode.maximumMilliseconds) else {
        throw hours.error("expected hours from 0 to 876000, got \(hours.kindDescription)")
      }
      retention = .milliseconds(Int64(ms))
    }
    if let ms = l.node("retention_ms") { retention = try ms.duration() }
    retentionBytes = try l.optionalBytes("retention_bytes")
    fsync = FsyncMode(
      rawValue: try l.oneOf("fsync", allowed: ["batch", "interval", "none"], default: "batch"))!
    fsyncInterval = .milliseconds(
      try l.int("fsync_interval_ms", default: 1000, range: 1...3_600_000))
    let maxRecord = try l.bytes("max_record_bytes", default: Int64(maxRecordBytes))
    guard maxRecord >= 1, maxRecord <= 64 << 20 else {
      throw try l.required("max_record_bytes").error("expected a size from 1B to 64MiB")
    }
    maxRecordBytes = Int(maxRecord)
    maxTopics = try l.int("max_topics", default: maxTopics, range: 1...1_000_000)
    compression = CompressionType(
      rawValue: try l.oneOf(
        "compression", allowed: CompressionType.allCases.map(\.rawValue), default: "none"))!
  }
}
