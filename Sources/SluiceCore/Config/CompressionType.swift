/// A codec for the record batches Sluice writes, by the names of Kafka's `compression.type`:
/// `log.compression` for the embedded log's own appends, `store.compression` for what the Kafka
/// store produces.
public enum CompressionType: String, Sendable, CaseIterable {
  case none, gzip, snappy, lz4, zstd
}
