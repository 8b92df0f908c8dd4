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
  var dedupeWindowMs: Int64
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

  static let keys = [
    "listen", "path", "methods", "content", "key", "headers", "signature", "dedupe", "max_body",
    "allowed_topics",
    "max_pending", "protocol",
  ]

  init(definition: ConnectorDefinition) throws {
    name = definition.name
    let m = try definition.configMapping(allowedKeys: Self.keys)
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
      let d = try node.mapping(allowedKeys: ["header", "window", "max_bytes", "max_key_bytes"])
      dedupeHeader = try d.string("header")
      dedupeWindowMs = try d.durationMilliseconds("window", default: 86_400_000)
      dedupeMaxBytes = Int(try d.bytes("max_bytes", default: 64 << 20))
      dedupeMaxKeyBytes = try d.int("max_key_bytes", default: 256, range: 1...65_536)
    } else {
      dedupeHeader = nil
      dedupeWindowMs = 0
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
