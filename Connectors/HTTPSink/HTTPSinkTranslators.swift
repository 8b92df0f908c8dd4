import SluiceCore

/// The main keys of the common HTTP sink connectors — Confluent's
/// (`io.confluent.connect.http.HttpSinkConnector`) and Aiven's
/// (`io.aiven.kafka.connect.http.HttpSinkConnector`) — run as Sluice's `http` sink: the URL,
/// the method, headers, authentication, batching, retries and the timeout.
enum HTTPSinkTranslators {
  static let confluentClass = "io.confluent.connect.http.HttpSinkConnector"
  static let aivenClass = "io.aiven.kafka.connect.http.HttpSinkConnector"
  static let converters: Set<String> = [
    ConnectCommonKeys.jsonConverter, ConnectCommonKeys.stringConverter,
  ]

  static func register(in registry: inout ConnectorRegistry) {
    registry.register(
      .translator(
        className: confluentClass, aliases: [], kind: .sink, sluiceType: "http",
        definitions: confluentDefinitions, converters: converters, translate: translateConfluent))
    registry.register(
      .translator(
        className: aivenClass, aliases: [], kind: .sink, sluiceType: "http",
        definitions: aivenDefinitions, converters: converters, translate: translateAiven))
  }

  private static let request = "Request"
  private static let auth = "Authentication"
  private static let batching = "Batching"
  private static let retries = "Retries"

  // MARK: - Confluent

  static let confluentDefinitions: [ConfigKeyDefinition] = [
    .init(
      "http.api.url", .string, required: true, importance: .high, group: request,
      "HTTP API URL; ${topic} and ${key} stand for the record's topic and key."),
    .init(
      "request.method", .string, default: "POST", importance: .high, group: request,
      allowed: ["POST", "PUT", "PATCH"], "HTTP request method (DELETE is not built)."),
    .init(
      "headers", .string, default: "", importance: .high, group: request,
      "HTTP headers, name:value pairs separated by header.separator."),
    .init(
      "header.separator", .string, default: "|", importance: .low, group: request,
      "The separator between the pairs of 'headers'."),
    .init(
      "behavior.on.null.values", .string, default: "ignore", importance: .low, group: request,
      "Not built: Sluice sends a record without a value as the body null (Confluent's default, ignore, skips it)."
    ),
    .init(
      "behavior.on.error", .string, default: "fail", importance: .low, group: retries,
      allowed: ["fail"],
      "Only fail: a request that keeps failing fails the task, or goes to the dead-letter topic with errors.tolerance=all."
    ),
    .init(
      "request.body.format", .string, default: "string", importance: .medium, group: request,
      allowed: ["string", "json"], "The body is the record value as the converter wrote it."),
    .init(
      "auth.type", .string, default: "NONE", importance: .high, group: auth,
      allowed: ["NONE", "BASIC"],
      "Authentication: NONE or BASIC (OAUTH2 and THIRD_PARTY are not built)."),
    .init("connection.user", .string, importance: .high, group: auth, "The basic-auth user."),
    .init(
      "connection.password", .password, importance: .high, group: auth, "The basic-auth password."),
    .init(
      "batch.max.size", .int, default: "1", importance: .high, group: batching,
      "The most records in one request; above 1 requests carry batches."),
    .init(
      "batch.json.as.array", .boolean, default: "false", importance: .high, group: batching,
      "Send a batch as a JSON array."),
    .init(
      "batch.prefix", .string, default: "", importance: .high, group: batching,
      "Text before a batch; with batch.json.as.array=false only the newline-separated form (prefix and suffix empty, separator \\n) is built."
    ),
    .init(
      "batch.suffix", .string, default: "", importance: .high, group: batching,
      "Text after a batch (see batch.prefix)."),
    .init(
      "batch.separator", .string, default: ",", importance: .high, group: batching,
      "Text between the records of a batch (see batch.prefix)."),
    .init(
      "max.retries", .int, default: "10", importance: .medium, group: retries,
      "Retries of a failing request (Sluice attempts it max.retries + 1 times)."),
    .init(
      "retry.backoff.ms", .int, default: "3000", importance: .medium, group: retries,
      "The first wait before a retry; later waits grow exponentially, up to 30 s."),
    .init(
      "http.request.timeout.ms", .int, default: "30000", importance: .low, group: retries,
      "The time one request may take."),
    .init(
      "http.connect.timeout.ms", .int, default: "30000", importance: .low, group: retries,
      "Not built as a separate limit: only its default is accepted (http.request.timeout.ms covers connecting)."
    ),
    .init(
      "confluent.topic.bootstrap.servers", .list, importance: .low, group: "Licensing",
      "Accepted and ignored: Confluent's license topic."),
    .init(
      "confluent.topic.replication.factor", .int, importance: .low, group: "Licensing",
      "Accepted and ignored: Confluent's license topic."),
    .init(
      "confluent.license", .password, importance: .low, group: "Licensing",
      "Accepted and ignored: Confluent's license."),
    .init(
      "reporter.bootstrap.servers", .list, importance: .low, group: "Reporter",
      "Accepted and ignored: Sluice reports failed requests through the dead-letter topic, not a reporter."
    ),
    .init(
      "reporter.result.topic.name", .string, importance: .low, group: "Reporter",
      "Not built: Sluice does not write responses to a topic."),
    .init(
      "reporter.error.topic.name", .string, importance: .low, group: "Reporter",
      "Not built: use errors.tolerance=all with errors.deadletterqueue.topic.name."),
    .init(
      "reporter.result.topic.replication.factor", .int, importance: .low, group: "Reporter",
      "Accepted and ignored."),
    .init(
      "reporter.error.topic.replication.factor", .int, importance: .low, group: "Reporter",
      "Accepted and ignored."),
  ]

  static func translateConfluent(_ t: ConnectTranslation) throws(ConfigError)
    -> ConnectorDefinition
  {
    for key in ["reporter.result.topic.name", "reporter.error.topic.name"] where t.has(key) {
      throw t.error(
        key,
        "reporting responses to a topic is not built in Sluice; failed requests go to the dead-letter topic (errors.tolerance=all, errors.deadletterqueue.topic.name)"
      )
    }
    try t.rejectUnbuilt([
      (
        "behavior.on.null.values", [],
        "Sluice sends a record without a value as the body null"
      ),
      (
        "behavior.on.error", ["fail"],
        "a request that keeps failing fails the task, or is dead-lettered with errors.tolerance=all"
      ),
      (
        "http.connect.timeout.ms", ["30000"],
        "http.request.timeout.ms bounds the whole request, connecting included"
      ),
    ])
    _ = try t.oneOf("request.body.format", ["string", "json"])
    var config: [ConfigNode.Entry] = []
    config.append(t.entry("url", try url("http.api.url", t)))
    if let method = try t.node("request.method") {
      var upper = method
      upper.content = .scalar(try method.string().uppercased())
      config.append(t.entry("method", upper))
    }
    let separator = try t.string("header.separator") ?? "|"
    var headers = try headerPairs("headers", separator: separator, t)
    if let index = headers.firstIndex(where: { $0.key.lowercased() == "content-type" }) {
      config.append(t.entry("content_type", headers.remove(at: index).value))
    }
    if !headers.isEmpty {
      config.append(t.entry("headers", t.located(.mapping(headers), at: "headers")))
    }
    switch try t.oneOf("auth.type", ["NONE", "BASIC", "OAUTH2", "THIRD_PARTY"]) ?? "NONE" {
    case "NONE":
      break
    case "BASIC":
      config.append(
        t.entry(
          "auth",
          t.located(
            .mapping([
              t.entry("type", t.located(.scalar("basic"), at: "auth.type")),
              t.entry("username", try t.required("connection.user")),
              t.entry("password", try t.required("connection.password")),
            ]), at: "auth.type")))
    case let other:
      throw t.error(
        "auth.type", "\(other) authentication is not built in Sluice (NONE and BASIC are)")
    }
    let size = try t.int("batch.max.size", range: 1...100_000) ?? 1
    if size > 1 {
      let format: String
      if try t.bool("batch.json.as.array") == true {
        format = "json_array"
      } else {
        format = try batchFormat(t, defaults: ("", "", ","))
      }
      config.append(t.entry("batch", batch(t, size: "\(size)", format: format)))
    }
    config.append(t.entry("retry", try retry(t, defaultRetries: 10, defaultBackoff: 3000)))
    if let timeout = try t.node("http.request.timeout.ms") {
      config.append(t.entry("timeout_ms", timeout))
    }
    return try t.definition(type: "http", config: config)
  }

  // MARK: - Aiven

  static let aivenDefinitions: [ConfigKeyDefinition] = [
    .init(
      "http.url", .string, required: true, importance: .high, group: request,
      "The URL to send data to."),
    .init(
      "http.authorization.type", .string, required: true, importance: .high, group: auth,
      allowed: ["none", "static"],
      "none, or static (the http.headers.authorization header); oauth2 is not built."),
    .init(
      "http.headers.authorization", .password, importance: .medium, group: auth,
      "The Authorization header's value with http.authorization.type=static."),
    .init(
      "http.headers.content.type", .string, importance: .low, group: request,
      "The Content-Type header."),
    .init(
      "http.headers.additional", .list, default: "", importance: .low, group: request,
      "More headers, name:value pairs separated by commas."),
    .init(
      "batching.enabled", .boolean, default: "false", importance: .high, group: batching,
      "Send records in batches."),
    .init(
      "batch.max.size", .int, default: "500", importance: .medium, group: batching,
      "The most records in one batch."),
    .init(
      "batch.prefix", .string, default: "", importance: .high, group: batching,
      "Text before a batch: \"\" (newline-separated) or \"[\" (a JSON array, with suffix \"]\" and separator \",\")."
    ),
    .init(
      "batch.suffix", .string, default: "\n", importance: .high, group: batching,
      "Text after a batch (see batch.prefix)."),
    .init(
      "batch.separator", .string, default: "\n", importance: .high, group: batching,
      "Text between the records of a batch (see batch.prefix)."),
    .init(
      "max.retries", .int, default: "1", importance: .medium, group: retries,
      "Retries of a failing request (Sluice attempts it max.retries + 1 times)."),
    .init(
      "retry.backoff.ms", .int, default: "3000", importance: .medium, group: retries,
      "The first wait before a retry; later waits grow exponentially, up to 30 s."),
    .init(
      "http.timeout", .int, default: "30", importance: .low, group: retries,
      "Seconds one request may take."),
  ]

  static func translateAiven(_ t: ConnectTranslation) throws(ConfigError) -> ConnectorDefinition {
    var config: [ConfigNode.Entry] = []
    config.append(t.entry("url", try url("http.url", t)))
    var headers = try headerPairs("http.headers.additional", separator: ",", t)
    switch try t.oneOf("http.authorization.type", ["none", "static", "oauth2", "apikey"]) {
    case nil:
      throw t.error(
        "http.authorization.type",
        "Missing required configuration \"http.authorization.type\" which has no default value.")
    case "none":
      break
    case "static":
      headers.append(t.entry("Authorization", try t.required("http.headers.authorization")))
    case let other?:
      throw t.error(
        "http.authorization.type",
        "\(other) authorization is not built in Sluice (none and static are)")
    }
    if let contentType = try t.node("http.headers.content.type") {
      config.append(t.entry("content_type", contentType))
    }
    if !headers.isEmpty {
      config.append(t.entry("headers", t.located(.mapping(headers), at: "http.headers.additional")))
    }
    if try t.bool("batching.enabled") == true {
      let size = try t.int("batch.max.size", range: 1...100_000) ?? 500
      let format = try batchFormat(t, defaults: ("", "\n", "\n"))
      config.append(t.entry("batch", batch(t, size: "\(size)", format: format)))
    }
    config.append(t.entry("retry", try retry(t, defaultRetries: 1, defaultBackoff: 3000)))
    if let seconds = try t.int("http.timeout", range: 1...86_400) {
      config.append(
        t.entry("timeout_ms", t.located(.scalar("\(seconds * 1000)"), at: "http.timeout")))
    }
    return try t.definition(type: "http", config: config)
  }

  // MARK: - Shared

  /// The URL with `${topic}`/`${key}` as Sluice's `{topic}`/`{key}`.
  private static func url(_ key: String, _ t: ConnectTranslation) throws(ConfigError) -> ConfigNode
  {
    guard let written = t.written(key) else { return try t.required(key) }
    return try t.scalar(ConnectTranslation.placeholders(written, ["topic", "key"]), at: key)
  }

  /// `name:value` pairs separated by `separator`, as header entries located at `key`.
  private static func headerPairs(_ key: String, separator: String, _ t: ConnectTranslation)
    throws(ConfigError) -> [ConfigNode.Entry]
  {
    guard let written = t.written(key), !written.isEmpty else { return [] }
    var out: [ConfigNode.Entry] = []
    for pair in written.components(separatedBy: separator)
    where !pair.trimmingCharacters(in: .whitespaces).isEmpty {
      guard let colon = pair.firstIndex(of: ":") else {
        throw t.error(key, "expected name:value pairs separated by '\(separator)', got '\(pair)'")
      }
      let name = pair[..<colon].trimmingCharacters(in: .whitespaces)
      let value = pair[pair.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      out.append(t.entry(name, try t.scalar(value, at: key, path: "\(key).\(name)")))
    }
    return out
  }

  /// Sluice's batch format from the prefix, suffix and separator.
  private static func batchFormat(
    _ t: ConnectTranslation, defaults: (prefix: String, suffix: String, separator: String)
  ) throws(ConfigError) -> String {
    let prefix = try t.string("batch.prefix") ?? defaults.prefix
    let suffix = try t.string("batch.suffix") ?? defaults.suffix
    let separator = try t.string("batch.separator") ?? defaults.separator
    switch (prefix, suffix, separator) {
    case ("[", "]", ","): return "json_array"
    case ("", "", "\n"), ("", "\n", "\n"): return "ndjson"
    default:
      throw t.error(
        t.has("batch.separator") ? "batch.separator" : "batch.prefix",
        "Sluice sends batches as a JSON array (prefix '[', suffix ']', separator ',') or as lines (prefix '', separator newline); this combination is not built"
      )
    }
  }

  private static func batch(_ t: ConnectTranslation, size: String, format: String) -> ConfigNode {
    t.located(
      .mapping([
        t.entry("max_records", t.located(.scalar(size), at: "batch.max.size")),
        t.entry("format", t.located(.scalar(format), at: "batch.max.size")),
      ]), at: "batch.max.size")
  }

  private static func retry(_ t: ConnectTranslation, defaultRetries: Int, defaultBackoff: Int)
    throws(ConfigError) -> ConfigNode
  {
    let retries = try t.int("max.retries", range: 0...1_000_000) ?? defaultRetries
    let backoff = try t.int("retry.backoff.ms", range: 0...86_400_000) ?? defaultBackoff
    return t.located(
      .mapping([
        t.entry("max_attempts", t.located(.scalar("\(retries + 1)"), at: "max.retries")),
        t.entry("backoff_ms", t.located(.scalar("\(backoff)"), at: "retry.backoff.ms")),
        t.entry(
          "max_backoff_ms", t.located(.scalar("\(max(backoff, 30_000))"), at: "retry.backoff.ms")),
      ]), at: "max.retries")
  }
}
