import Logging
import NIOCore
import SluiceCore
import SluiceKafka
import SluiceLog

/// The embedded log as a single-node Kafka broker (node 0, leader of every partition):
/// answers one request frame at a time with the response frame, as Kafka's request handlers
/// do. The listener (``KafkaListener``) owns the sockets; this type owns no I/O but the store's.
///
/// A request that cannot be parsed, or names an API or version not advertised, closes the
/// connection (as Kafka does), except ApiVersions, which is answered at v0 with
/// UNSUPPORTED_VERSION and the supported ranges so the client can pick a version.
public final class KafkaBroker: Sendable {
  let store: EmbeddedTopicStore
  let config: KafkaListenerConfig
  let producers = ProducerRegistry()
  let groups: GroupCoordinator
  let transactions: TransactionCoordinator
  let logger: Logger
  /// The largest batch a producer may send: the log's record limit, as Kafka's
  /// `message.max.bytes` is a batch limit.
  let maxBatchBytes: Int
  /// The users SASL checks, derived from `kafka.sasl`; nil when clients need not authenticate.
  public let saslCredentials: SASLCredentials?
  /// What ApiVersions answers: every served API, with the SASL ones only when SASL is on.
  let advertisedVersions: [ApiVersionsResponse.ApiVersion]
  /// Requests answered, by API and error code, and their durations.
  let requestMetrics = KafkaRequestMetrics()

  /// The node every partition lives on.
  static let nodeID: Int32 = 0
  /// The leader epoch reported for every partition and written into stored batches.
  static let leaderEpoch: Int32 = 0

  /// Transactional ids' states are kept in `transactionsDirectory` (created if needed).
  public init(
    store: EmbeddedTopicStore, config: KafkaListenerConfig, groups: GroupCoordinator,
    transactionsDirectory: String, logger: Logger
  ) throws {
    self.store = store
    self.config = config
    self.groups = groups
    self.logger = logger
    self.transactions = try TransactionCoordinator(
      directory: transactionsDirectory, store: store, groups: groups, producers: producers,
      logger: logger)
    // Plus the 12 bytes of offset and length, as Kafka's default 1,048,588 is 1 MiB + 12.
    self.maxBatchBytes = store.log.configuration.maxRecordBytes + 12
    self.saslCredentials = config.sasl.map { SASLCredentials($0) }
    self.advertisedVersions = Self.advertisedVersions(sasl: config.sasl != nil)
  }

  /// What to do with one request.
  public enum Outcome: Sendable {
    /// Send this frame (size prefix included).
    case respond([UInt8])
    /// Send these buffers in order, one frame (size prefix included) in one gathered write: a
    /// Fetch response whose record sets are the stored batches as they were read.
    case respondInParts([ByteBuffer])
    /// Send nothing (a Produce with acks 0).
    case nothing
    /// Close the connection; the reason is logged.
    case close(String)
  }

  /// Answers one request frame (the bytes after its 4-byte size) from a client at `clientHost`.
  public func handle(frame: [UInt8], clientHost: String = "") async -> Outcome {
    let request: RequestFrame
    do {
      request = try RequestFrame(parsing: frame)
    } catch {
      return .close("malformed request header: \(error)")
    }
    guard let key = request.apiKey, key.supportedVersions.contains(request.apiVersion) else {
      if request.apiKeyValue == ApiKey.apiVersions.rawValue {
        return .respond(unsupportedApiVersions(correlationId: request.correlationId))
      }
      return .close(
        "API key \(request.apiKeyValue) version \(request.apiVersion) is not supported")
    }
    let started = ContinuousClock.now
    if key == .produce && !key.decodableVersions.contains(request.apiVersion) {
      // Produce v0–2 is advertised (old clients turn compression off without it) but refused.
      requestMetrics.record(
        key, errorCode: KafkaErrorCode.unsupportedVersion.rawValue,
        duration: ContinuousClock.now - started)
      return .respond(
        ResponseFrame.encode(
          ProduceResponse(), version: request.apiVersion, correlationId: request.correlationId))
    }
    let body: KafkaRequestBody
    do {
      body = try request.decodeBody()
    } catch {
      return .close("cannot decode \(key) v\(request.apiVersion): \(error)")
    }
    let (outcome, errorCode) = await answer(
      body, version: request.apiVersion, correlationId: request.correlationId,
      client: RequestContext(clientID: request.clientId ?? "", clientHost: clientHost))
    requestMetrics.record(key, errorCode: errorCode, duration: ContinuousClock.now - started)
    return outcome
  }

  /// The answer to one decoded request, and the error code it is counted under.
  private func answer(
    _ body: KafkaRequestBody, version: Int16, correlationId id: Int32, client: RequestContext
  ) async -> (Outcome, Int16) {
    switch body {
    case .apiVersions: return respond(apiVersions(), version, id)
    case .metadata(let r): return respond(await metadata(r, version: version), version, id)
    case .produce(let r):
      let response = await produce(r)
      return r.acks == 0 ? (.nothing, response.firstErrorCode) : respond(response, version, id)
    case .fetch(let r):
      let (frame, errorCode) = await fetch(r, version: version, correlationId: id)
      return (.respondInParts(frame), errorCode)
    case .listOffsets(let r): return respond(await listOffsets(r), version, id)
    case .offsetForLeaderEpoch(let r): return respond(await offsetForLeaderEpoch(r), version, id)
    case .initProducerId(let r): return respond(await initProducerId(r), version, id)
    case .addPartitionsToTxn(let r): return respond(await addPartitionsToTxn(r), version, id)
    case .addOffsetsToTxn(let r): return respond(await addOffsetsToTxn(r), version, id)
    case .endTxn(let r): return respond(await endTxn(r), version, id)
    case .txnOffsetCommit(let r): return respond(await txnOffsetCommit(r), version, id)
    case .findCoordinator(let r): return respond(findCoordinator(r, version: version), version, id)
    case .describeCluster: return respond(describeCluster(), version, id)
    case .createTopics(let r): return respond(await createTopics(r), version, id)
    case .deleteTopics(let r): return respond(await deleteTopics(r, version: version), version, id)
    case .describeConfigs(let r): return respond(await describeConfigs(r), version, id)
    case .joinGroup(let r):
      return respond(await joinGroup(r, version: version, client: client), version, id)
    case .syncGroup(let r): return respond(await syncGroup(r), version, id)
    case .heartbeat(let r): return respond(await heartbeat(r), version, id)
    case .leaveGroup(let r): return respond(await leaveGroup(r, version: version), version, id)
    case .offsetCommit(let r): return respond(await offsetCommit(r), version, id)
    case .offsetFetch(let r): return respond(await offsetFetch(r, version: version), version, id)
    case .describeGroups(let r): return respond(await describeGroups(r), version, id)
    case .listGroups(let r): return respond(await listGroups(r), version, id)
    }
  }

  private func respond<Response: KafkaResponseMessage & ResponseErrorCode>(
    _ response: Response, _ version: Int16, _ correlationId: Int32
  ) -> (Outcome, Int16) {
    (
      .respond(ResponseFrame.encode(response, version: version, correlationId: correlationId)),
      response.firstErrorCode
    )
  }

  /// The Kafka error for a store error.
  static func errorCode(_ error: any Error) -> KafkaErrorCode {
    switch error {
    case let error as TopicStoreError:
      switch error {
      case .invalidTopicName: .invalidTopicException
      case .unknownTopic, .unknownPartition: .unknownTopicOrPartition
      case .recordTooLarge: .messageTooLarge
      case .invalidRecord: .invalidRecord
      case .topicNotAllowed: .policyViolation
      case .offsetOutOfRange: .offsetOutOfRange
      case .unavailable, .corrupt: .kafkaStorageError
      }
    case let error as ProducedBatchError:
      switch error {
      case .corrupt: .corruptMessage
      case .unsupportedMagic: .unsupportedForMessageFormat
      case .tooLarge: .messageTooLarge
      case .invalidRecord: .invalidRecord
      case .invalidTimestamp: .invalidTimestamp
      }
    default: .unknownServerError
    }
  }
}
