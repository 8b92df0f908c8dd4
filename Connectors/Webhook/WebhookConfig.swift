import Foundation
import SluiceCore

/// `source: webhook` settings, validated from the connector file.
struct WebhookConfig: Sendable {
  enum Content: String, Sendable { case json, raw }

  /// Where the record key comes from.
  enum KeySource: Sendable, Equatable {
    case none
    case header(String)
    case jsonPointer(String)
  }

  var name: String
  var host: String
  var port: Int
  var path: String
  var methods: Set<String>
  var content: Content
  var key: KeySource
  var headerAllowList: [String]
  var signature: SignatureCheck
  var dedupeHeader: String?
  var dedupeWindow: Duration
  /// Memory the dedupe index may hold; past it the oldest keys are forgotten first.
  var dedupeMaxBytes: Int
  /// The longest idempotency key accepted (400 above it).
  var dedupeMaxKeyBytes: Int
  var maxBody: Int
  /// The topics a templated topic may render to (a whole-match regular expression), so that
  /// requests cannot create topics at will; nil allows any (within the worker's `max_topics`).
  var allowedTopics: TopicPattern?
  var maxPending: Int
  /// `http1` (HTTP/1.1, keep-alive, pipelining) or `h2c` (HTTP/2 over cleartext, prior knowledge).
  var http2: Bool
  var topic: TopicTemplate

  /// The `config:` keys, as `/connector-plugins` describes them.
  static let definitions: [ConfigKeyDefinition] = [
    .init(
      "listen", .string, default: "127.0.0.1:8080", importance: .high, group: "Listener",
      "host:port to listen on; webhook connectors may share one address with different paths."),
    .init(
      "path", .string, required: true, importance: .high, group: "Listener",
      "The URL path this webhook answers, starting with '/'."),
    .init(
      "methods", .list, default: "POST", importance: .low, group: "Listener", shape: .list,
      "The methods accepted: POST and/or PUT."),
    .init(
      "content", .string, default: "json", importance: .medium, group: "Records",
      allowed: ["json", "raw"],
      "json: the body must be valid JSON with Content-Type application/json; raw: any body."),
    .init(
      "key", .string, importance: .medium, group: "Records",
      "The record key: header:NAME or json:/pointer; no key by default."),
    .init(
      "headers", .list, importance: .low, group: "Records", shape: .list,
      "HTTP headers copied into the record's headers."),
    .init(
      "signature.type", .string, importance: .high, group: "Signature",
      allowed: ["github", "stripe", "hmac-sha256", "bearer", "basic"],
      "How requests are authenticated; every comparison is constant-time."),
    .init(
      "signature.secret", .password, importance: .high, group: "Signature",
      "The shared secret of github, stripe and hmac-sha256 signatures."),
    .init(
      "signature.header", .string, default: "X-Signature", importance: .low, group: "Signature",
      "hmac-sha256: the header that carries the signature."),
    .init(
      "signature.prefix", .string, default: "", importance: .low, group: "Signature",
      "hmac-sha256: text before the signature in its header."),
    .init(
      "signature.encoding", .string, default: "hex", importance: .low, group: "Signature",
      allowed: ["hex", "base64"], "hmac-sha256: how the signature is written."),
    .init(
      "signature.tolerance", .string, default: "5m", importance: .low, group: "Signature",
      "stripe: how far the signed timestamp may be from now."),
    .init(
      "signature.token", .password, importance: .high, group: "Signature",
      "bearer: the expected token."),
    .init(
      "signature.username", .string, importance: .high, group: "Signature",
      "basic: the expected user."),
    .init(
      "signature.password", .password, importance: .high, group: "Signature",
      "basic: the expected password."),
    .init(
      "dedupe.header", .string, importance: .medium, group: "Idempotency",
      "The header whose value is the idempotency key; a repeat inside the window is answered with the first result and writes nothing."
    ),
    .init(
      "dedupe.window", .string, default: "24h", importance: .low, group: "Idempotency",
      "How long a key is remembered (a duration)."),
    .init(
      "dedupe.max_bytes", .string, default: "64MiB", importance: .low, group: "Idempotency",
      "Memory the index may hold; the oldest keys are forgotten first."),
    .init(
      "dedupe.max_key_bytes", .int, default: "256", importance: .low, group: "Idempotency",
      "The longest idempotency key (400 above it)."),
    .init(
      "max_body", .string, default: "1000KiB", importance: .medium, group: "Listener",
      "The largest body (413 above it), a size like 1MiB."),
    .init(
      "allowed_topics", .string, importance: .low, group: "Records",
      "A regular expression a rendered topic must match wholly (else 403)."),
    .init(
      "max_pending", .int, default: "1000", importance: .low, group: "Listener",
      "Writes in flight before requests get 429."),
    .init(
      "protocol", .string, default: "http1", importance: .low, group: "Listener",
      allowed: ["http1", "h2c"], "HTTP/1.1, or HTTP/2 over cleartext with prior knowledge."),
  ]

  init(definition: ConnectorDefinition) throws {
    name = definition.name
    let m = try definition.configMapping(Self.definitions)
    (host, port) = try m.hostPort("listen", default: ("127.0.0.1", 8080))
    let pathNode = try m.required("path")
    path = try pathNode.string()
    guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#") else {
      throw pathNode.error("expected a URL path starting with '/', got '\(path)'")
    }
    methods = ["POST"]
    if let node = m.node("methods") {
      methods = Set(try node.stringList().map { $0.uppercased() })
      for method in methods where method != "POST" && method != "PUT" {
        throw node.error("expected POST and/or PUT, got '\(method)'")
      }
    }
    content = Content(rawValue: try m.oneOf("content", allowed: ["json", "raw"], default: "json"))!
    key = .none
    if let node = m.node("key") {
      let text = try node.string()
      if text.hasPrefix("header:"), text.count > 7 {
        key = .header(String(text.dropFirst(7)))
      } else if text.hasPrefix("json:/") || text == "json:" {
        guard content == .json else { throw node.error("a json: key needs content: json") }
        key = .jsonPointer(String(text.dropFirst(5)))
      } else {
        throw node.error("expected header:NAME or json:/pointer, got '\(text)'")
      }
    }
    headerAllowList = m.node("headers") == nil ? [] : try m.stringList("headers")
    signature = try SignatureCheck(m.node("signature"))
    if let node = m.node("dedupe") {
      let d = try node.mapping(allowedKeys: Self.definitions.keys(under: "dedupe"))
      dedupeHeader = try d.string("header")
      dedupeWindow = try d.duration("window", default: .seconds(86_400))
      dedupeMaxBytes = Int(try d.bytes("max_bytes", default: 64 << 20))
      dedupeMaxKeyBytes = try d.int("max_key_bytes", default: 256, range: 1...65_536)
    } else {
      dedupeHeader = nil
      dedupeWindow = .zero
      dedupeMaxBytes = 0
      dedupeMaxKeyBytes = 0
    }
    // Below log.max_record_bytes' default (1 MiB) by room for the headers the record carries, so a
    // body at the limit is still writable as one record.
    maxBody = Int(try m.bytes("max_body", default: 1000 << 10))
    allowedTopics = try m.node("allowed_topics").map { node throws(ConfigError) in
      try TopicPattern(node)
    }
    maxPending = try m.int("max_pending", default: 1000, range: 1...1_000_000)
    http2 = try m.oneOf("protocol", allowed: ["http1", "h2c"], default: "http1") == "h2c"

    let topicNode = try definition.requiredTopicNode()
    do {
      topic = try TopicTemplate(definition.topic ?? "")
      try topic.validate(
        isKnown: { $0.hasPrefix("header:") || ($0.hasPrefix("json:/") && self.content == .json) },
        known: "{header:NAME} and {json:/pointer}")
    } catch {
      throw topicNode.error(error.message)
    }
  }
}
