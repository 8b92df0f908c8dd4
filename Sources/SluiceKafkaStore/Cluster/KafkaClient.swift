import Logging
import NIOCore
import NIOPosix
import SluiceKafka

/// Sluice's client for one Kafka cluster: bootstraps from ``KafkaClientConfiguration/bootstrap``,
/// keeps the cluster's metadata (refreshed when older than
/// ``KafkaClientConfiguration/metadataMaxAge`` and whenever an answer says it is stale), holds
/// one ``BrokerConnection`` per node, routes requests to partition leaders and coordinators,
/// and retries transient failures with capped exponential backoff.
public actor KafkaClient {
  /// How the client reaches the cluster.
  public nonisolated let configuration: KafkaClientConfiguration
  nonisolated let logger: Logger
  private let group: any EventLoopGroup
  private var connections: [Int32: BrokerConnection] = [:]
  /// Connections to coordinators, apart from the data connections (as Java's client keeps
  /// them): a broker serves one request at a time per connection, so a JoinGroup held for a
  /// rebalance or a long-poll Fetch must not hold the other up.
  private var coordinatorConnections: [Int32: BrokerConnection] = [:]
  private var bootstrapConnections: [BrokerAddress: BrokerConnection] = [:]
  /// Addresses learned from FindCoordinator, for coordinators Metadata did not list.
  private var extraAddresses: [Int32: BrokerAddress] = [:]
  private var current: ClusterMetadata?
  private var fetchedAt: ContinuousClock.Instant?
  private var stale = false
  private var refreshing: Task<ClusterMetadata, any Error>?
  /// Topics whose metadata the client keeps.
  private var interesting: Set<String> = []
  private var coordinators: [CoordinatorKey: Int32] = [:]
  /// Which known broker to ask first for metadata and other any-broker requests.
  private var preference = BrokerPreference()
  private var closed = false

  struct CoordinatorKey: Hashable {
    var type: CoordinatorType
    var key: String
  }

  /// A client for the cluster `configuration` describes; nothing is dialed until it is used.
  public init(
    configuration: KafkaClientConfiguration,
    group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
    logger: Logger = Logger(label: "sluice.kafka.client")
  ) {
    self.configuration = configuration
    self.group = group
    self.logger = logger
  }

  /// Closes every connection; later calls fail with ``KafkaClientError/Kind/closed``.
  public func close() async {
    closed = true
    refreshing?.cancel()
    for connection in connections.values { await connection.close() }
    for connection in coordinatorConnections.values { await connection.close() }
    for connection in bootstrapConnections.values { await connection.close() }
    connections = [:]
    coordinatorConnections = [:]
    bootstrapConnections = [:]
  }

  // MARK: - Metadata

  /// The cluster's metadata, including `topics`; refreshed first when it is older than the
  /// maximum age, marked stale, missing one of `topics`, or when `refresh` is set.
  public func metadata(topics: [String] = [], refresh: Bool = false) async throws
    -> ClusterMetadata
  {
    let missing = topics.filter { !interesting.contains($0) }
    interesting.formUnion(topics)
    if !refresh, !stale, missing.isEmpty, let current, let fetchedAt,
      ContinuousClock.now - fetchedAt < configuration.metadataMaxAge
    {
      return current
    }
    return try await refreshMetadata()
  }

  /// Marks the metadata stale: the next use refreshes it.
  public func invalidateMetadata() {
    stale = true
  }

  /// Asks a broker for fresh metadata of the topics the client tracks.
  @discardableResult
  public func refreshMetadata() async throws -> ClusterMetadata {
    if let refreshing { return try await refreshing.value }
    let task = Task { try await self.fetchMetadata() }
    refreshing = task
    defer { refreshing = nil }
    let metadata = try await task.value
    current = metadata
    fetchedAt = .now
    stale = false
    return metadata
  }

  private func fetchMetadata() async throws -> ClusterMetadata {
    try checkOpen()
    let request = MetadataRequest(
      topics: interesting.sorted().map { .init(name: $0) }, allowAutoTopicCreation: false)
    var lastError: (any Error)?
    // Known brokers first (the cluster may have moved on from the bootstrap list), in the
    // order of ``BrokerPreference``, then the bootstrap list.
    var candidates: [(node: Int32?, connection: BrokerConnection)] = []
    if let current {
      for node in preference.order(current.brokers.keys) {
        if let connection = try? connection(node: node) { candidates.append((node, connection)) }
      }
    }
    for address in configuration.bootstrap {
      candidates.append((nil, bootstrapConnection(address)))
    }
    for (node, connection) in candidates {
      do {
        let response = try await connection.send(request)
        if let node { preference.answered(node) }
        return ClusterMetadata(response)
      } catch {
        lastError = error
        if let node { preference.failed(node) }
        logger.debug(
          "metadata from \(connection.address) failed: \(error)")
      }
    }
    throw lastError
      ?? KafkaClientError(.connectionFailed, "no broker to ask for metadata (empty bootstrap)")
  }

  // MARK: - Connections

  /// The connection to node `node` (a broker id from Metadata or FindCoordinator).
  public func connection(node: Int32) throws -> BrokerConnection {
    try connection(node: node, in: &connections)
  }

  private func connection(node: Int32, in pool: inout [Int32: BrokerConnection]) throws
    -> BrokerConnection
  {
    try checkOpen()
    guard let address = current?.brokers[node] ?? extraAddresses[node] else {
      stale = true
      throw KafkaClientError(
        .server, code: KafkaErrorCode.brokerNotAvailable.rawValue,
        "node \(node) is not in the metadata")
    }
    if let existing = pool[node], existing.address == address { return existing }
    let connection = BrokerConnection(
      address: address, configuration: configuration, group: group, logger: logger)
    if let old = pool[node] { Task { await old.close() } }
    pool[node] = connection
    return connection
  }

  private func bootstrapConnection(_ address: BrokerAddress) -> BrokerConnection {
    if let existing = bootstrapConnections[address] { return existing }
    let connection = BrokerConnection(
      address: address, configuration: configuration, group: group, logger: logger)
    bootstrapConnections[address] = connection
    return connection
  }

  /// Any broker: a known node if there is one (the one ``BrokerPreference`` puts first),
  /// else the first bootstrap address.
  public func anyConnection() async throws -> BrokerConnection {
    let metadata = try await metadata()
    if let node = preference.order(metadata.brokers.keys).first {
      return try connection(node: node)
    }
    guard let address = configuration.bootstrap.first else {
      throw KafkaClientError(.connectionFailed, "empty bootstrap list")
    }
    return bootstrapConnection(address)
  }

  /// The node id leading `partition`, refreshing metadata when it is unknown.
  public func leader(of partition: KafkaTopicPartition) async throws -> Int32 {
    var metadata = try await metadata(topics: [partition.topic])
    if metadata.leader(of: partition) == nil {
      metadata = try await refreshMetadata()
    }
    if let leader = metadata.leader(of: partition) { return leader }
    let code =
      metadata.topics[partition.topic].map {
        $0.errorCode != 0
          ? $0.errorCode
          : ($0.partitions[partition.partition]?.errorCode
            ?? KafkaErrorCode.unknownTopicOrPartition.rawValue)
      } ?? KafkaErrorCode.unknownTopicOrPartition.rawValue
    stale = true
    throw KafkaClientError.server(
      code == 0 ? KafkaErrorCode.leaderNotAvailable.rawValue : code, "leader of \(partition)")
  }

  /// The connection to the leader of `partition`.
  public func leaderConnection(for partition: KafkaTopicPartition) async throws -> BrokerConnection
  {
    try connection(node: try await leader(of: partition))
  }

  // MARK: - Retries

  /// Runs `operation` until it succeeds, retrying transient failures (see
  /// ``KafkaClientError/isRetriable``) with capped exponential backoff for at most
  /// ``KafkaClientConfiguration/retryTimeout``; errors that mean stale metadata mark it so.
  public nonisolated func withRetries<T: Sendable>(
    _ what: String, _ operation: @Sendable () async throws -> T
  ) async throws -> T {
    let deadline = ContinuousClock.now + configuration.retryTimeout
    var backoff = configuration.retryBackoff
    while true {
      do {
        return try await operation()
      } catch let error as KafkaClientError where error.isRetriable {
        if error.needsMetadataRefresh { await invalidateMetadata() }
        if ContinuousClock.now + backoff >= deadline {
          throw KafkaClientError(
            .retriesExhausted, code: error.code, broker: error.broker,
            "\(what): gave up after \(configuration.retryTimeout): \(error.message)")
        }
        logger.debug("\(what): retrying after \(backoff): \(error)")
        try await Task.sleep(for: backoff)
        backoff = min(backoff * 2, configuration.retryBackoffMax)
      }
    }
  }

  // MARK: - Coordinators

  /// The node coordinating `key` (a group id or a transactional id), from FindCoordinator
  /// (cached until ``invalidateCoordinator(_:key:)``).
  public func coordinator(_ type: CoordinatorType, key: String) async throws -> BrokerConnection {
    let cacheKey = CoordinatorKey(type: type, key: key)
    if let node = coordinators[cacheKey],
      let connection = try? connection(node: node, in: &coordinatorConnections)
    {
      return connection
    }
    let connection = try await anyConnection()
    // FindCoordinator v0 has no key type: the broker would answer with the *group*
    // coordinator of a transactional id, and every transactional request would then get
    // NOT_COORDINATOR until the retries ran out.
    if type != .group, try await connection.version(for: .findCoordinator) < 1 {
      throw KafkaClientError(
        .unsupportedVersion, broker: connection.address.description,
        "FindCoordinator v0 cannot look up a \(type) coordinator (v1 and up can)")
    }
    let response = try await connection.send(
      FindCoordinatorRequest(key: key, keyType: type.rawValue, coordinatorKeys: [key]))
    let node: Int32
    let host: String
    let port: Int32
    if let found = response.coordinators.first {
      guard found.errorCode == 0 else {
        throw KafkaClientError.server(found.errorCode, "FindCoordinator \(type) \(key)")
      }
      (node, host, port) = (found.nodeId, found.host, found.port)
    } else {
      guard response.errorCode == 0 else {
        throw KafkaClientError.server(response.errorCode, "FindCoordinator \(type) \(key)")
      }
      (node, host, port) = (response.nodeId, response.host, response.port)
    }
    extraAddresses[node] = BrokerAddress(host: host, port: Int(port))
    coordinators[cacheKey] = node
    return try self.connection(node: node, in: &coordinatorConnections)
  }

  /// Forgets the coordinator of `key`, after NOT_COORDINATOR or a broken connection.
  public func invalidateCoordinator(_ type: CoordinatorType, key: String) {
    coordinators[CoordinatorKey(type: type, key: key)] = nil
  }

  private func checkOpen() throws {
    if closed { throw KafkaClientError(.closed, "the client is closed") }
  }
}
