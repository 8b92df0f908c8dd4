/// Kafka Connect's Filter: drops every record it applies to — so it is used with a predicate
/// (`predicate: tombstones` drops tombstones; with `negate: true`, everything else).
struct FilterTransform: Transform {
  static let type = TransformType(
    names: ["filter", "org.apache.kafka.connect.transforms.Filter"]
  ) { options throws(ConfigError) in
    try options.checkKnown([])
    return FilterTransform()
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool { false }
}
