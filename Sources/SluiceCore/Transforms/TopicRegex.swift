import Foundation
import Synchronization

/// A Java-style regex matched against whole topic names (Kafka's `Pattern.matcher().matches()`),
/// with what it answered per topic remembered: records of one topic come by the million, topics
/// are few.
final class TopicRegex: Sendable {
  private let regex: NSRegularExpression
  private let replacement: String?
  private let answers = Mutex<[String: String?]>([:])
  /// Past this many topics the memo is cleared, so topics named by data cannot grow it.
  private static let memoLimit = 10_000

  /// `pattern` is anchored at both ends; `replacement` (`$1` for groups) is for ``replace(_:)``.
  init(_ pattern: String, replacement: String? = nil) throws {
    regex = try NSRegularExpression(pattern: "^(?:\(pattern))$")
    self.replacement = replacement
  }

  func matches(_ topic: String) -> Bool { replace(topic, with: "") != nil }

  /// The replacement for a matching topic, nil when it does not match.
  func replace(_ topic: String) -> String? { replace(topic, with: replacement ?? "$0") }

  private func replace(_ topic: String, with template: String) -> String? {
    let key = template.isEmpty ? "\u{0}" + topic : topic
    if let known = answers.withLock({ $0[key] }) { return known }
    let range = NSRange(topic.startIndex..., in: topic)
    var answer: String?
    if let match = regex.firstMatch(in: topic, range: range) {
      answer = template.isEmpty ? "" : regex.replacementString(
        for: match, in: topic, offset: 0, template: template)
    }
    answers.withLock {
      if $0.count >= Self.memoLimit { $0.removeAll() }
      $0[key] = .some(answer)
    }
    return answer
  }
}
