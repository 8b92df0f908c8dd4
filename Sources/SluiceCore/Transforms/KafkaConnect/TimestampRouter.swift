import Foundation

/// Kafka Connect's TimestampRouter (`timestamp_router`): renames the topic by `topic.format`
/// (default `${topic}-${timestamp}`), where `${timestamp}` is the record's timestamp formatted
/// with `timestamp.format` (default `yyyyMMdd`, a `SimpleDateFormat` pattern, in UTC). Touches
/// neither key nor value.
struct TimestampRouter: Transform {
  let topicFormat: String
  let timestampFormat: JavaDateFormat

  static let type = TransformType(
    names: ["timestamp_router", TransformCatalog.kafkaName("TimestampRouter")]
  ) { options throws(ConfigError) in
    try options.checkKnown(["topic.format", "timestamp.format"])
    let pattern = options.string("timestamp.format", default: "yyyyMMdd")
    let format: JavaDateFormat
    do throws(TransformError) {
      format = try JavaDateFormat(pattern)
    } catch {
      throw options.error("timestamp.format", error.reason)
    }
    return TimestampRouter(
      topicFormat: options.string("topic.format", default: "${topic}-${timestamp}"),
      timestampFormat: format)
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    let topic = topicFormat.replacingOccurrences(of: "${topic}", with: record.topic)
      .replacingOccurrences(of: "${timestamp}", with: timestampFormat.format(record.timestamp))
    guard TopicName.problem(with: topic) == nil else {
      throw TransformError("the topic '\(topic)' it made is not a valid topic name")
    }
    record.topic = topic
    return true
  }
}
