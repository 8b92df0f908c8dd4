import Logging
import SluiceCore
import SluiceKafka
import SluiceKafkaStore
import SluiceLog

/// Picks the worker's ``TopicStore`` from `store:` in worker.yaml: the embedded log in
/// `data_dir` (with its `log:` settings) or a Kafka cluster.
enum StoreFactory {
  /// The store the worker runs on, and how to let go of it at exit.
  struct OpenedStore {
    let store: any TopicStore
    /// The embedded store, which the Kafka listener serves; nil on a Kafka cluster.
    let embedded: EmbeddedTopicStore?
    /// Where status changes go besides the admin API: the status topic on a Kafka cluster.
    var publishStatus: (@Sendable ([StatusRecord]) -> Void)? = nil
    let close: () async -> Void
  }

  /// Opens the store `worker.store` names. Sink connectors' group offsets stay in `offsets`
  /// for the embedded store; on Kafka they are the cluster's consumer groups.
  static func open(_ worker: WorkerConfig, offsets: FileOffsetStore, logger: Logger) async throws
    -> OpenedStore
  {
    switch worker.store {
    case .embedded(let settings):
      let log = try EmbeddedLog(
        directory: worker.dataDir + "/log", configuration: settings.logConfiguration)
      let store = EmbeddedTopicStore(
        log: log, defaultPartitions: settings.partitions, groupOffsets: offsets)
      return OpenedStore(store: store, embedded: store, close: { log.close() })
    case .kafka(let config):
      let store = KafkaTopicStore(
        configuration: configuration(config), logger: logger)
      await connect(store, bootstrap: config.bootstrap, logger: logger)
      let status = StatusTopicWriter(store: store, logger: logger)
      return OpenedStore(
        store: store, embedded: nil, publishStatus: status.enqueue,
        close: {
          await status.flush()
          await store.close()
        })
    }
  }

  /// Starts `store` (its own topics, the broker's limits), retrying with capped backoff for as
  /// long as the cluster cannot be reached: logged when it fails and when it recovers, not at
  /// every attempt (DESIGN.md §6).
  static func connect(
    _ store: KafkaTopicStore, bootstrap: [KafkaStoreConfig.Broker], logger: Logger
  ) async {
    let brokers = bootstrap.map(\.description).joined(separator: ",")
    var backoff: Duration = .seconds(1)
    var failing = false
    while true {
      do {
        try await store.start()
        logger.info(
          failing ? "kafka cluster reachable again, store ready" : "kafka store ready",
          metadata: [
            "bootstrap": "\(brokers)", "max_record_bytes": "\(store.maxRecordBytes)",
            "offsets_topic": "\(store.configuration.offsetsTopic)",
            "status_topic": "\(store.configuration.statusTopic)",
            "history_topic": "\(store.configuration.historyTopic)",
          ])
        return
      } catch {
        if !failing {
          logger.warning(
            "cannot reach the kafka cluster; retrying until it answers",
            metadata: ["bootstrap": "\(brokers)", "error": "\(error)"])
          failing = true
        }
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(30))
      }
    }
  }

  /// The Kafka store's settings from `store: { kind: kafka, … }`.
  static func configuration(_ config: KafkaStoreConfig) -> KafkaTopicStore.Configuration
  {
    var tls: KafkaTLSConfiguration?
    if config.securityProtocol.usesTLS {
      tls = KafkaTLSConfiguration(
        caFile: config.tls?.ca, certificateFile: config.tls?.cert, privateKeyFile: config.tls?.key)
    }
    var sasl: KafkaSASLConfiguration?
    if let given = config.sasl, let mechanism = SASLMechanism(rawValue: given.mechanism) {
      sasl = KafkaSASLConfiguration(
        mechanism: mechanism, username: given.username, password: given.password)
    }
    let client = KafkaClientConfiguration(
      bootstrap: config.bootstrap.map { BrokerAddress(host: $0.host, port: $0.port) },
      clientId: config.clientId, tls: tls, sasl: sasl)
    return KafkaTopicStore.Configuration(
      client: client, replicationFactor: Int16(clamping: config.replicationFactor ?? -1),
      defaultPartitions: config.defaultPartitions, offsetsTopic: config.offsetsTopic,
      statusTopic: config.statusTopic, historyTopic: config.historyTopic,
      linger: config.linger,
      compression: config.compression.codec)
  }
}
