/// Debezium's ByLogicalTableRouter: the records of many physical tables (shards, partitions)
/// go to one logical table's topic. A topic that matches `topic.regex` as a whole becomes
/// `topic.replacement` (`$1`… the regex's groups); with `key.enforce.uniqueness` (the default)
/// the key gets a field (`key.field.name`, `__dbz__physicalTableIdentifier`) naming the
/// physical table — the original topic, or `key.field.replacement` of it when
/// `key.field.regex` matches — so rows with one key in two shards stay apart. Values are
/// unchanged: schemaless JSON has no schema names to rename.
struct ByLogicalTableRouter: Transform {
  var topicRegex: TopicRegex
  var enforcesUniqueness: Bool
  var keyField: String
  var keyFieldRegex: TopicRegex?

  static let options = [
    "topic.regex", "topic.replacement", "key.enforce.uniqueness", "key.field.name",
    "key.field.regex", "key.field.replacement", "logical.table.cache.size",
    "schema.name.adjustment.mode",
  ]

  static let type = TransformType(
    names: ["by_logical_table_router", "io.debezium.transforms.ByLogicalTableRouter"]
  ) { options throws(ConfigError) in
    try options.refuseKeySide()
    try options.checkKnown(Self.options)
    let pattern = try options.required("topic.regex")
    let replacement = try options.required("topic.replacement")
    _ = try options.int("logical.table.cache.size", default: 16)
    let topicRegex: TopicRegex
    do {
      topicRegex = try TopicRegex(pattern, replacement: replacement)
    } catch {
      throw options.error(
        "topic.regex", "not a valid regular expression: \(error.localizedDescription)")
    }
    var keyFieldRegex: TopicRegex?
    if let keyPattern = options.string("key.field.regex"), !keyPattern.isEmpty {
      let keyReplacement = try options.required("key.field.replacement")
      do {
        keyFieldRegex = try TopicRegex(keyPattern, replacement: keyReplacement)
      } catch {
        throw options.error(
          "key.field.regex", "not a valid regular expression: \(error.localizedDescription)")
      }
    } else if options.string("key.field.replacement") != nil {
      throw options.error("key.field.replacement", "applies with 'key.field.regex'")
    }
    return ByLogicalTableRouter(
      topicRegex: topicRegex,
      enforcesUniqueness: try options.bool("key.enforce.uniqueness", default: true),
      keyField: options.string("key.field.name", default: "__dbz__physicalTableIdentifier"),
      keyFieldRegex: keyFieldRegex)
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    // A replacement that comes out empty leaves the record as it was, as in Debezium.
    guard let renamed = topicRegex.replace(record.topic), !renamed.isEmpty else { return true }
    guard TopicName.problem(with: renamed) == nil else {
      throw TransformError("the topic '\(renamed)' it made is not a valid topic name")
    }
    if enforcesUniqueness, !record.key.isNull {
      guard case .object(var key) = try record.key.json() else {
        throw TransformError(
          "the key is not a JSON object, so '\(keyField)' cannot be added to it")
      }
      key[keyField] = .string(keyFieldRegex?.replace(record.topic) ?? record.topic)
      record.key = .json(.object(key))
    }
    record.topic = renamed
    return true
  }
}
