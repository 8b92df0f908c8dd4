/// A whole-match regular expression over topic names (`allowed_topics`), for settings that
/// bound which topics input from outside may create.
public struct TopicPattern: @unchecked Sendable {
  // @unchecked: a compiled Regex is an immutable value; matching does not mutate it.
  private let regex: Regex<AnyRegexOutput>
  public let pattern: String

  /// The pattern from `node` (a string), or a config error naming it.
  public init(_ node: ConfigNode) throws(ConfigError) {
    pattern = try node.string()
    do {
      regex = try Regex(pattern)
    } catch {
      throw node.error("not a regular expression: \(error)")
    }
  }

  public func matches(_ topic: String) -> Bool { (try? regex.wholeMatch(in: topic)) != nil }
}
