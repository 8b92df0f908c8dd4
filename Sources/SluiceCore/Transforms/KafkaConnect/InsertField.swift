/// Kafka Connect's InsertField (`insert_field`): adds the record's topic, partition, offset
/// (sinks only) or timestamp, or a static string, as fields of the key or value. A field name
/// may end in `!` (required) or `?` (optional), which only matters to schemas: the mark is
/// dropped. A null key or value (a tombstone) passes unchanged.
struct InsertField: Transform {
  let side: RecordSide
  let topicField: String?
  let partitionField: String?
  let offsetField: String?
  let timestampField: String?
  let staticField: String?
  let staticValue: String?

  static let type = TransformType(
    names: ["insert_field", TransformCatalog.kafkaName("InsertField")]
  ) { options throws(ConfigError) in
    try options.checkKnown([
      "topic.field", "partition.field", "offset.field", "timestamp.field", "static.field",
      "static.value", "replace.null.with.default",
    ])
    try options.checkReplaceNullWithDefault()
    func field(_ key: String) throws(ConfigError) -> String? {
      guard var name = options.string(key) else { return nil }
      if name.hasSuffix("!") || name.hasSuffix("?") { name.removeLast() }
      guard !name.isEmpty else { throw options.error(key, "expected a field name") }
      return name
    }
    let transform = InsertField(
      side: options.side, topicField: try field("topic.field"),
      partitionField: try field("partition.field"), offsetField: try field("offset.field"),
      timestampField: try field("timestamp.field"), staticField: try field("static.field"),
      staticValue: options.string("static.value"))
    guard
      [
        transform.topicField, transform.partitionField, transform.offsetField,
        transform.timestampField, transform.staticField,
      ].contains(where: { $0 != nil })
    else {
      throw options.error(
        "topic.field",
        "transform '\(options.alias)' inserts nothing: set topic.field, partition.field, "
          + "offset.field, timestamp.field or static.field")
    }
    if let staticField = transform.staticField, transform.staticValue == nil {
      throw options.error("static.value", "no value for the static field '\(staticField)'")
    }
    return transform
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    let tree = try record[side].json()
    if tree == .null { return true }
    var object = try requireObject(tree, side, for: "InsertField")
    if let topicField { object[topicField] = .string(record.topic) }
    if let partitionField, let partition = record.partition {
      object[partitionField] = .int(Int64(partition))
    }
    if let offsetField {
      guard let offset = record.offset else {
        throw TransformError(
          "offset.field is for sink connectors: a source's record has no offset yet")
      }
      object[offsetField] = .int(offset)
    }
    if let timestampField { object[timestampField] = .int(record.timestamp) }
    if let staticField, let staticValue { object[staticField] = .string(staticValue) }
    record[side] = .json(.object(object))
    return true
  }
}
