import SluiceKafka

/// Why a Kafka client operation failed: a value with the broker, the API and the server's
/// own error code or message, printed once where the caller reports it.
public struct KafkaClientError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What went wrong.
  public enum Kind: Sendable, Equatable {
    /// The TCP (or TLS) connection could not be opened.
    case connectionFailed
    /// The connection closed (or broke) while the request was in flight.
    case connectionClosed
    /// No response within the request's timeout; the connection was closed.
    case requestTimedOut
    /// The broker supports no version of the API that the codec does.
    case unsupportedVersion
    /// The broker answered with a Kafka error code (``KafkaClientError/code``).
    case server
    /// Another producer with the same transactional id (a newer epoch) took over; this
    /// producer can do nothing but close.
    case fenced
    /// SASL authentication or the TLS handshake failed.
    case authenticationFailed
    /// The fetch offset is outside the partition's log.
    case offsetOutOfRange
    /// The broker sent something this client cannot read.
    case protocolViolation
    /// The operation is not allowed in the producer's or member's current state.
    case invalidState
    /// Retries ran out; ``KafkaClientError/message`` says the last failure.
    case retriesExhausted
    /// The client (or producer, or member) was closed.
    case closed
  }

  /// What went wrong.
  public var kind: Kind
  /// The Kafka error code, for ``Kind/server`` (and the fenced and out-of-range kinds).
  public var code: Int16?
  /// The broker (host:port) involved, if any.
  public var broker: String?
  /// What was being done, and any message the broker sent.
  public var message: String

  /// An error of `kind`.
  public init(_ kind: Kind, code: Int16? = nil, broker: String? = nil, _ message: String) {
    self.kind = kind
    self.code = code
    self.broker = broker
    self.message = message
  }

  /// The error for a non-zero Kafka error `code` answered to `context`; fencing and offset
  /// errors get their own kinds.
  public static func server(_ code: Int16, _ context: String, broker: String? = nil)
    -> KafkaClientError
  {
    let name = KafkaErrorCode(rawValue: code).map { "\($0)" } ?? "error \(code)"
    let kind: Kind
    switch KafkaErrorCode(rawValue: code) {
    case .producerFenced, .invalidProducerEpoch: kind = .fenced
    case .offsetOutOfRange: kind = .offsetOutOfRange
    default: kind = .server
    }
    return KafkaClientError(kind, code: code, broker: broker, "\(context): \(name) (\(code))")
  }

  /// The Kafka error code as the codec names it.
  public var errorCode: KafkaErrorCode? { code.flatMap(KafkaErrorCode.init(rawValue:)) }

  /// Whether trying again (after a metadata refresh, on a new connection) may succeed.
  public var isRetriable: Bool {
    switch kind {
    case .connectionFailed, .connectionClosed, .requestTimedOut: return true
    case .server: return code.map(KafkaClientError.isRetriable(code:)) ?? false
    default: return false
    }
  }

  /// Whether the error means the cluster's metadata (leaders, coordinators) is stale.
  public var needsMetadataRefresh: Bool {
    switch kind {
    case .connectionFailed, .connectionClosed, .requestTimedOut: return true
    case .server:
      switch errorCode {
      case .notLeaderOrFollower, .leaderNotAvailable, .unknownTopicOrPartition,
        .notCoordinator, .coordinatorNotAvailable, .fencedLeaderEpoch, .unknownLeaderEpoch,
        .brokerNotAvailable, .replicaNotAvailable, .networkException:
        return true
      default: return false
      }
    default: return false
    }
  }

  /// Kafka error codes that are transient: leadership moves, coordinators loading, requests
  /// timing out at the broker, transactions still completing.
  public static func isRetriable(code: Int16) -> Bool {
    switch KafkaErrorCode(rawValue: code) {
    case .unknownTopicOrPartition, .leaderNotAvailable, .notLeaderOrFollower, .requestTimedOut,
      .brokerNotAvailable, .replicaNotAvailable, .networkException, .coordinatorLoadInProgress,
      .coordinatorNotAvailable, .notCoordinator, .notEnoughReplicas, .notEnoughReplicasAfterAppend,
      .concurrentTransactions, .kafkaStorageError, .fencedLeaderEpoch, .unknownLeaderEpoch,
      .offsetNotAvailable, .throttlingQuotaExceeded, .unstableOffsetCommit:
      return true
    default: return false
    }
  }

  public var description: String {
    let at = broker.map { " [\($0)]" } ?? ""
    return "kafka \(kind)\(at): \(message)"
  }
}
