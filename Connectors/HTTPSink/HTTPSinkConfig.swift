import SluiceCore

/// `sink: http` settings, validated before the worker starts the connector.
struct HTTPSinkConfig: Sendable {
  /// What a request body holds for each record.
  enum Body: String, Sendable { case value, envelope }
  /// How several records share one request body.
  enum BatchFormat: String, Sendable {
    case jsonArray = "json_array"
    case ndjson
  }
  /// Which records must keep their order: those of one key, or all of one partition.
  enum Ordering: String, Sendable { case key, partition }

  /// `batch:`; absent: one record per request.
  struct Batch: Sendable {
    var maxRecords: Int
    var maxBytes: Int
    var linger: Duration
    var format: BatchFormat
  }

  /// `retry:` — attempts per request (0: unlimited) and the backoff between them.
  struct Retry: Sendable {
    var maxAttempts: Int
    var backoff: Duration
    var maxBackoff: Duration
  }

  var name: String
  var url: RequestTemplate
  var method: String
  var headers: [(name: String, value: RequestTemplate)]
  var auth: RequestAuth
  var contentType: String?
  var body: Body
  var batch: Batch?
  var maxInFlight: Int
  var ordering: Ordering
  var retry: Retry
  /// `timeout_ms`: the time one request may take.
  var timeout: Duration
  var tls: CurlTLS

  /// The `config:` keys, as `/connector-plugins` describes them.
  static let definitions: [ConfigKeyDefinition] = [
    .init(
      "url", .string, required: true, importance: .high, group: "Request",
      "The endpoint, http:// or https://; a template with {topic} {partition} {key} {key:/pointer} {value:/pointer} (values percent-escaped)."
    ),
    .init(
      "method", .string, default: "POST", importance: .medium, group: "Request",
      allowed: ["POST", "PUT", "PATCH"], "The request method."),
    .init(
      "headers", .string, importance: .medium, group: "Request", shape: .mapping,
      "Request headers, one key per header (headers.X-Source=sluice); values may be templates like the URL."
    ),
    .init(
      "content_type", .string, importance: .low, group: "Request",
      "The Content-Type header; default application/json (application/x-ndjson for ndjson batches)."
    ),
    .init(
      "body", .string, default: "value", importance: .medium, group: "Request",
      allowed: ["value", "envelope"],
      "value: the record value as JSON; envelope: the whole record (topic, partition, offset, key, value, headers)."
    ),
    .init(
      "auth.type", .string, importance: .high, group: "Authentication",
      allowed: ["bearer", "basic", "hmac-sha256"],
      "How requests prove where they come from: a bearer token, basic auth, or an HMAC-SHA256 of the body in a header."
    ),
    .init("auth.token", .password, importance: .high, group: "Authentication", "The bearer token."),
    .init(
      "auth.username", .string, importance: .high, group: "Authentication", "The basic-auth user."),
    .init(
      "auth.password", .password, importance: .high, group: "Authentication",
      "The basic-auth password."),
    .init(
      "auth.secret", .password, importance: .high, group: "Authentication", "The HMAC-SHA256 key."),
    .init(
      "auth.header", .string, default: "X-Sluice-Signature-256", importance: .low,
      group: "Authentication", "The header that carries the HMAC."),
    .init(
      "auth.prefix", .string, default: "sha256=", importance: .low, group: "Authentication",
      "Text before the HMAC in its header."),
    .init(
      "auth.encoding", .string, default: "hex", importance: .low, group: "Authentication",
      allowed: ["hex", "base64"], "How the HMAC is written."),
    .init(
      "batch.max_records", .int, default: "500", importance: .medium, group: "Batching",
      "With batching: the most records in one request (1 to 100000). Giving any batch key turns batching on."
    ),
    .init(
      "batch.max_bytes", .string, default: "1MiB", importance: .low, group: "Batching",
      "With batching: about the most bytes in one request, a size like 1MiB."),
    .init(
      "batch.linger_ms", .string, default: "0", importance: .low, group: "Batching",
      "With batching: how long a batch waits to fill, milliseconds or a duration."),
    .init(
      "batch.format", .string, default: "json_array", importance: .medium, group: "Batching",
      allowed: ["json_array", "ndjson"],
      "With batching: a JSON array of values, or one JSON document per line."),
    .init(
      "max_in_flight", .int, default: "16", importance: .medium, group: "Delivery",
      "Requests at once (1 to 1024)."),
    .init(
      "ordering", .string, default: "key", importance: .medium, group: "Delivery",
      allowed: ["key", "partition"],
      "key: a record waits for earlier records of its key; partition: one request at a time per partition, in offset order."
    ),
    .init(
      "retry.max_attempts", .int, default: "10", importance: .medium, group: "Delivery",
      "Attempts per request; 0: no limit."),
    .init(
      "retry.backoff_ms", .string, default: "200", importance: .low, group: "Delivery",
      "The first wait between attempts, milliseconds or a duration."),
    .init(
      "retry.max_backoff_ms", .string, default: "30000", importance: .low, group: "Delivery",
      "The longest wait between attempts, milliseconds or a duration."),
    .init(
      "timeout_ms", .string, default: "30000", importance: .medium, group: "Delivery",
      "The time one request may take, milliseconds or a duration."),
    .init(
      "tls.ca", .string, importance: .low, group: "TLS",
      "A CA bundle file that verifies the server."),
    .init(
      "tls.insecure", .boolean, default: "false", importance: .low, group: "TLS",
      "Skip the server's certificate checks (tests only)."),
  ]

  init(definition: ConnectorDefinition) throws {
    name = definition.name
    let m = try definition.configMapping(Self.definitions)
    let batchMode = m.has("batch")
    let urlNode = try m.required("url")
    let urlText = try urlNode.string()
    guard urlText.hasPrefix("http://") || urlText.hasPrefix("https://") else {
      throw urlNode.error(
        "expected an http:// or https:// URL, got \(CredentialMask.masking(urlNode.kindDescription))"
      )
    }
    url = try RequestTemplate(urlNode, escaping: true, batchMode: batchMode)
    method = try m.oneOf("method", allowed: ["POST", "PUT", "PATCH"], default: "POST")
    headers = []
    if let node = m.node("headers") {
      guard case .mapping(let entries) = node.content else {
        throw node.error("expected a mapping of header name: value")
      }
      for entry in entries {
        guard !entry.key.isEmpty,
          entry.key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        else { throw entry.value.error("'\(entry.key)' is not a valid header name") }
        let value = try RequestTemplate(entry.value, escaping: false, batchMode: batchMode)
        guard !value.text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) else {
          throw entry.value.error("a header value cannot contain a line break")
        }
        headers.append((entry.key, value))
      }
    }
    auth = try RequestAuth(m.node("auth"))
    contentType = try m.optionalString("content_type")
    body = Body(rawValue: try m.oneOf("body", allowed: ["value", "envelope"], default: "value"))!
    if let node = m.node("batch") {
      let b = try node.mapping(allowedKeys: Self.definitions.keys(under: "batch"))
      batch = Batch(
        maxRecords: try b.int("max_records", default: 500, range: 1...100_000),
        maxBytes: Int(try b.bytes("max_bytes", default: 1 << 20)),
        linger: try b.duration("linger_ms", default: .zero),
        format: BatchFormat(
          rawValue: try b.oneOf("format", allowed: ["json_array", "ndjson"], default: "json_array"))!
      )
    }
    maxInFlight = try m.int("max_in_flight", default: 16, range: 1...1024)
    ordering = Ordering(
      rawValue: try m.oneOf("ordering", allowed: ["key", "partition"], default: "key"))!
    if let node = m.node("retry") {
      let r = try node.mapping(allowedKeys: Self.definitions.keys(under: "retry"))
      retry = Retry(
        maxAttempts: try r.int("max_attempts", default: 10, range: 0...1_000_000),
        backoff: try r.duration("backoff_ms", default: .milliseconds(200)),
        maxBackoff: try r.duration("max_backoff_ms", default: .seconds(30)))
    } else {
      retry = Retry(maxAttempts: 10, backoff: .milliseconds(200), maxBackoff: .seconds(30))
    }
    timeout = try m.duration("timeout_ms", default: .seconds(30))
    tls = CurlTLS()
    if let node = m.node("tls") {
      let t = try node.mapping(allowedKeys: Self.definitions.keys(under: "tls"))
      tls = CurlTLS(
        caFile: try t.optionalString("ca"), insecure: try t.bool("insecure", default: false))
    }
  }
}

/// A validated `sink: http` connector.
struct HTTPSinkConnector: SinkConnector {
  let config: HTTPSinkConfig

  init(definition: ConnectorDefinition) throws {
    config = try HTTPSinkConfig(definition: definition)
  }

  /// Enough records per `put` to keep `max_in_flight` requests busy for a while (the batch
  /// waits for its slowest request, so a larger one wastes less of each wait), and few enough
  /// bytes that the reads from the log stay small: the log reads up to `maxBytes` at once.
  var batching: SinkBatching {
    if let batch = config.batch {
      let requests = min(max(config.maxInFlight, 4), 16)
      return SinkBatching(
        maxRecords: min(batch.maxRecords * requests, 100_000),
        maxBytes: min(max(batch.maxBytes * 2, 1 << 20), 8 << 20),
        linger: batch.linger)
    }
    // A batch ends with its last requests running alone; 4,096 records make that tail short.
    return SinkBatching(maxRecords: max(4096, config.maxInFlight * 64), maxBytes: 1 << 20)
  }

  /// Requests after the last stored offset are sent again after a crash; storing offsets ten
  /// times a second keeps that to a tenth of a second of records.
  var offsetCommitInterval: Duration { .milliseconds(100) }

  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask {
    try HTTPSinkTask(config: config, context: context)
  }
}

/// Registers `sink: http`.
public enum HTTPSinkConnectors {
  public static func register(in registry: inout ConnectorRegistry) {
    registry.register(
      .sink(
        "http", definitions: HTTPSinkConfig.definitions,
        converters: [ConnectCommonKeys.jsonConverter, ConnectCommonKeys.stringConverter]
      ) { try HTTPSinkConnector(definition: $0) })
    HTTPSinkTranslators.register(in: &registry)
  }
}
