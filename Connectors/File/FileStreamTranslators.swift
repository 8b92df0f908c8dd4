import SluiceCore

/// Kafka's `FileStreamSourceConnector` and `FileStreamSinkConnector` configs, run as Sluice's
/// `file` source and sink.
///
/// The source reads the file from its beginning, one record per line, as Kafka's does (and
/// also follows rotation); the sink appends each record's value as one line, as Kafka's does
/// (`format: value`). Both write and read the bytes `StringConverter` does.
enum FileStreamTranslators {
  static func register(in registry: inout ConnectorRegistry) {
    registry.register(
      .translator(
        className: "org.apache.kafka.connect.file.FileStreamSourceConnector",
        aliases: ["FileStreamSource"], kind: .source, sluiceType: "file",
        definitions: sourceDefinitions, converters: [ConnectCommonKeys.stringConverter],
        translate: translateSource))
    registry.register(
      .translator(
        className: "org.apache.kafka.connect.file.FileStreamSinkConnector",
        aliases: ["FileStreamSink"], kind: .sink, sluiceType: "file",
        definitions: sinkDefinitions, converters: [ConnectCommonKeys.stringConverter],
        translate: translateSink))
  }

  static let sourceDefinitions: [ConfigKeyDefinition] = [
    .init(
      "file", .string, required: true, importance: .high, group: "File",
      "Source filename. (Kafka reads standard input when it is not given; Sluice needs a file.)"),
    .init(
      "batch.size", .int, default: "2000", importance: .low, group: "File",
      "The maximum number of lines read into one durable append (1 to 100000)."),
  ]

  static let sinkDefinitions: [ConfigKeyDefinition] = [
    .init(
      "file", .string, required: true, importance: .high, group: "File",
      "Destination filename; each record's value is appended as one line. (Kafka writes to standard output when it is not given; Sluice needs a file.)"
    )
  ]

  static func translateSource(_ t: ConnectTranslation) throws(ConfigError) -> ConnectorDefinition {
    var config = [t.entry("path", try t.required("file"))]
    if let batch = try t.node("batch.size") {
      _ = try t.int("batch.size", range: 1...100_000)
      config.append(t.entry("batch_lines", batch))
    } else {
      config.append(t.entry("batch_lines", t.located(.scalar("2000"), at: "batch.size")))
    }
    guard let topic = try t.node("topic") else {
      throw t.error("topic", "Missing required configuration \"topic\" which has no default value.")
    }
    return try t.definition(type: "file", topic: topic, config: config)
  }

  static func translateSink(_ t: ConnectTranslation) throws(ConfigError) -> ConnectorDefinition {
    try t.definition(
      type: "file",
      config: [
        t.entry("path", try t.required("file")),
        t.entry("format", t.located(.scalar("value"), at: "file")),
      ])
  }
}
