/// What a sink does with a record it cannot apply (DESIGN.md §6): retry it, then send it to the
/// dead-letter topic (`tolerance: all`) or fail the task (`tolerance: none`).
public struct SinkErrorPolicy: Sendable, Equatable {
  public var tolerateAll: Bool
  public var deadLetterTopic: String?
  public var retries: Int
  public var initialBackoff: Duration
  public var maximumBackoff: Duration

  public init(
    tolerateAll: Bool = false, deadLetterTopic: String? = nil, retries: Int = 5,
    initialBackoff: Duration = .milliseconds(100), maximumBackoff: Duration = .seconds(10)
  ) {
    self.tolerateAll = tolerateAll
    self.deadLetterTopic = deadLetterTopic
    self.retries = retries
    self.initialBackoff = initialBackoff
    self.maximumBackoff = maximumBackoff
  }
}

/// Headers on a dead-lettered record, after the original's own headers.
public enum DeadLetterHeaders {
  public static let connector = "sluice.error.connector"
  public static let topic = "sluice.error.topic"
  public static let partition = "sluice.error.partition"
  public static let offset = "sluice.error.offset"
  public static let reason = "sluice.error.reason"
  public static let attempts = "sluice.error.attempts"
}
