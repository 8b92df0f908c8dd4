/// The keys every Kafka Connect connector config may have, whatever its class: the frame that
/// Sluice's connector files spell `name`, `source|sink`, `topic|topics`, `tasks` and `errors`,
/// plus the converter, transform and predicate keys Kafka Connect's runtime reads.
///
/// Some are accepted and ignored because ignoring them changes nothing Sluice delivers (listed
/// in ``ignoredKeys`` and in the README, "Kafka Connect configs"); every other key a connector
/// does not define is an error.
public enum ConnectCommonKeys {
  public static let jsonConverter = "org.apache.kafka.connect.json.JsonConverter"
  public static let stringConverter = "org.apache.kafka.connect.storage.StringConverter"
  /// Converters whose JSON without schemas is what Sluice writes and reads.
  public static let jsonConverters: Set<String> = [jsonConverter]

  /// Keys accepted and ignored, with why ignoring them is safe.
  public static let ignoredKeys: [String: String] = [
    "errors.log.enable": "Sluice logs every failed record and shows it in the task's status",
    "errors.log.include.messages": "Sluice never logs record contents",
    "errors.deadletterqueue.context.headers.enable":
      "Sluice always adds its sluice.error.* headers to dead-lettered records",
    "errors.deadletterqueue.topic.replication.factor":
      "the dead-letter topic is created by the worker's store with its own settings",
    "header.converter":
      "Sluice keeps record headers as bytes, as SimpleHeaderConverter writes them",
  ]

  static let group = "Common"
  static let errorsGroup = "Error Handling"
  static let convertersGroup = "Converters"
  static let transformsGroup = "Transforms"

  /// The common keys of a source or a sink.
  public static func definitions(for kind: ConnectorPlugin.Kind) -> [ConfigKeyDefinition] {
    var out: [ConfigKeyDefinition] = [
      .init(
        "name", .string, required: true, importance: .high, group: group,
        displayName: "Connector name",
        "Globally unique name to use for this connector: letters, digits, '.', '_' and '-'."),
      .init(
        "connector.class", .string, required: true, importance: .high, group: group,
        displayName: "Connector class",
        "Name or alias of the class for this connector: one of Sluice's own types "
          + "(sluice.source.postgres-cdc, …) or a Kafka Connect class Sluice translates."),
      .init(
        "tasks.max", .int, default: "1", importance: .high, group: group,
        displayName: "Tasks max",
        "Maximum number of tasks to use for this connector (1 to 256)."),
    ]
    switch kind {
    case .source:
      out.append(
        .init(
          "topic", .string, importance: .high, group: group, displayName: "Topic",
          "The topic this source writes; a template with placeholders for some types "
            + "(shop.{schema}.{table})."))
    case .sink:
      out += [
        .init(
          "topics", .list, importance: .high, group: group, displayName: "Topics",
          "List of topics to consume, separated by commas."),
        .init(
          "topics.regex", .string, importance: .high, group: group, displayName: "Topics regex",
          "Regular expression giving topics to consume. Not built in Sluice: list the topics in "
            + "'topics'."),
      ]
    }
    out += [
      .init(
        "errors.tolerance", .string, default: "none", importance: .medium, group: errorsGroup,
        displayName: "Error tolerance", allowed: ["none", "all"],
        "Behavior for tolerating errors: 'none' fails the task after the retries; 'all' "
          + "dead-letters the record (sinks) or skips it and goes on."),
      .init(
        "errors.deadletterqueue.topic.name", .string, default: "", importance: .medium,
        group: errorsGroup, displayName: "Dead letter queue topic name",
        "The topic that records which cannot be delivered are written to with "
          + "errors.tolerance=all; default <name>.dlq."),
      .init(
        "errors.retries", .int, default: "5", importance: .medium, group: errorsGroup,
        displayName: "Retries",
        "How many times a record that cannot be applied is retried before it is dead-lettered "
          + "or fails the task (Sluice's count; Kafka's errors.retry.timeout is not built)."),
      .init(
        "errors.retry.backoff.ms", .long, default: "100", importance: .low, group: errorsGroup,
        displayName: "Retry backoff (ms)", "The first wait between retries of a record."),
      .init(
        "errors.retry.delay.max.ms", .long, default: "10000", importance: .low,
        group: errorsGroup, displayName: "Maximum delay between retries (ms)",
        "The longest wait between consecutive retries of a record."),
    ]
    for (key, why) in ignoredKeys.sorted(by: { $0.key < $1.key }) {
      out.append(
        .init(
          key, key == "header.converter" ? .class : .string, importance: .low,
          group: key.hasPrefix("errors.") ? errorsGroup : convertersGroup,
          "Accepted and ignored: \(why)."))
    }
    out += [
      .init(
        "key.converter", .class, importance: .low, group: convertersGroup,
        displayName: "Key converter class",
        "Converter class for keys: org.apache.kafka.connect.json.JsonConverter (with "
          + "schemas.enable=false) or, where the connector says so, "
          + "org.apache.kafka.connect.storage.StringConverter; Sluice's records are what these "
          + "converters write."),
      .init(
        "value.converter", .class, importance: .low, group: convertersGroup,
        displayName: "Value converter class",
        "Converter class for values; the same classes as key.converter."),
      .init(
        "key.converter.schemas.enable", .boolean, default: "false", importance: .low,
        group: convertersGroup,
        "Whether keys carry the JSON converter's schema; true only for connectors that read "
          + "the {\"schema\",\"payload\"} wrapper."),
      .init(
        "value.converter.schemas.enable", .boolean, default: "false", importance: .low,
        group: convertersGroup,
        "Whether values carry the JSON converter's schema; true only for connectors that read "
          + "the {\"schema\",\"payload\"} wrapper."),
      .init(
        "transforms", .list, default: "", importance: .low, group: transformsGroup,
        displayName: "Transforms",
        "Aliases for the transformations to be applied to records, in order; each is "
          + "configured by transforms.<alias>.type and transforms.<alias>.<option>."),
      .init(
        "predicates", .list, default: "", importance: .low, group: transformsGroup,
        displayName: "Predicates",
        "Aliases for the predicates used by transformations (transforms.<alias>.predicate), "
          + "each configured by predicates.<alias>.type and its options."),
    ]
    return out
  }
}
