/// Kafka Connect's TopicNameMatches: the record's topic matches `pattern` as a whole.
struct TopicNameMatches: RecordPredicate {
  let regex: TopicRegex

  static let type = PredicateType(
    names: ["topic_name_matches", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"]
  ) { options throws(ConfigError) in
    try options.checkKnown(["pattern"])
    let pattern = try options.required("pattern")
    do {
      return TopicNameMatches(regex: try TopicRegex(pattern))
    } catch {
      throw options.error("pattern", "not a valid regular expression: \(error)")
    }
  }

  func test(_ record: inout TransformRecord) throws(TransformError) -> Bool {
    regex.matches(record.topic)
  }
}

/// Kafka Connect's HasHeaderKey: the record has at least one header named `name`.
struct HasHeaderKey: RecordPredicate {
  let name: String

  static let type = PredicateType(
    names: ["has_header_key", "org.apache.kafka.connect.transforms.predicates.HasHeaderKey"]
  ) { options throws(ConfigError) in
    try options.checkKnown(["name"])
    return HasHeaderKey(name: try options.required("name"))
  }

  func test(_ record: inout TransformRecord) throws(TransformError) -> Bool {
    record.headers.contains { $0.name == name }
  }
}

/// Kafka Connect's RecordIsTombstone: the record's value is null.
struct RecordIsTombstone: RecordPredicate {
  static let type = PredicateType(
    names: ["record_is_tombstone", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"]
  ) { options throws(ConfigError) in
    try options.checkKnown([])
    return RecordIsTombstone()
  }

  func test(_ record: inout TransformRecord) throws(TransformError) -> Bool { record.isTombstone }
}
