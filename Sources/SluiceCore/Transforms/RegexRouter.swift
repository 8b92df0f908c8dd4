import Foundation

/// Kafka Connect's RegexRouter (`route`): a topic that matches `regex` as a whole is renamed to
/// `replacement`, where `$1`… are the regex's groups; other topics pass unchanged.
struct RegexRouter: Transform {
  let regex: TopicRegex

  static let type = TransformType(
    names: ["route", "org.apache.kafka.connect.transforms.RegexRouter"]
  ) { options throws(ConfigError) in
    try options.checkKnown(["regex", "replacement"])
    let pattern = try options.required("regex")
    let replacement = try options.required("replacement")
    do {
      return RegexRouter(regex: try TopicRegex(pattern, replacement: replacement))
    } catch {
      throw options.error("regex", "not a valid regular expression: \(error.localizedDescription)")
    }
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    if let renamed = regex.replace(record.topic) {
      guard TopicName.problem(with: renamed) == nil else {
        throw TransformError("the topic '\(renamed)' it made is not a valid topic name")
      }
      record.topic = renamed
    }
    return true
  }
}
