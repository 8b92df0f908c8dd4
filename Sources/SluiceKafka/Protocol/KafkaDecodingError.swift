/// Why a Kafka message could not be decoded: which field was being read, where, and what was
/// wrong with the bytes. Every read of a ``KafkaReader`` throws this instead of trapping.
public struct KafkaDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What was wrong with the bytes.
  public enum Reason: Equatable, Sendable {
    /// Fewer bytes remained than the field needs.
    case truncated(needed: Int, remaining: Int)
    /// A length or count below -1, or -1 where null is not allowed.
    case invalidLength(Int64)
    /// A length or count larger than the bytes that remain.
    case lengthExceedsRemaining(length: Int64, remaining: Int)
    /// A variable-length integer longer than its type allows.
    case varintTooLong
    /// A string whose bytes are not UTF-8.
    case invalidUTF8
    /// A value outside the field's range (a bool other than 0 or 1, an unknown tag order, …).
    case invalidValue(String)
    /// The API key or version is not one this codec decodes.
    case unsupported(apiKey: Int16, version: Int16)
  }

  /// The schema field (or primitive) being read.
  public var field: String
  /// The byte offset in the reader's buffer where the read started.
  public var offset: Int
  /// What went wrong.
  public var reason: Reason

  public init(field: String, offset: Int, reason: Reason) {
    self.field = field
    self.offset = offset
    self.reason = reason
  }

  public var description: String {
    "cannot decode Kafka field '\(field)' at byte \(offset): \(reason)"
  }
}
