import Foundation
import Synchronization

/// Kafka Connect's RegexRouter (`route`): a topic that matches `regex` as a whole is renamed to
/// `replacement`, where `$1`… are the regex's groups; other topics pass unchanged.
struct RegexRouter: Transform {
  let regex: TopicRegex
  /// The last topic renamed and its new name, already checked to be a valid topic name: a
  /// source's records come in long runs of one topic, so most records skip both the regex's
  /// memo (a hash of the topic) and the check.
  private let last = LastRoute()

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
    if let renamed = last.renamed(record.topic) {
      record.topic = renamed
      return true
    }
    if let renamed = regex.replace(record.topic) {
      guard TopicName.problem(with: renamed) == nil else {
        throw TransformError("the topic '\(renamed)' it made is not a valid topic name")
      }
      last.remember(record.topic, renamed)
      record.topic = renamed
    }
    return true
  }
}

/// ``RegexRouter``'s one-entry memo, shared by the tasks that apply the transform.
private final class LastRoute: Sendable {
  private let entry = Mutex<(topic: String, renamed: String)?>(nil)

  func renamed(_ topic: String) -> String? {
    entry.withLock { entry in
      guard let entry, entry.topic == topic else { return nil }
      return entry.renamed
    }
  }

  func remember(_ topic: String, _ renamed: String) {
    entry.withLock { $0 = (topic, renamed) }
  }
}
