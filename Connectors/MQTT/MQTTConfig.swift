import Foundation
import SluiceCore

/// `source: mqtt` settings, validated from the connector file.
struct MQTTConfig: Sendable {
  /// How a message's payload becomes the record value.
  enum Payload: String, Sendable {
    /// Validated JSON; invalid payloads are dead-lettered or dropped.
    case json
    /// UTF-8 text; invalid UTF-8 is dead-lettered or dropped.
    case text
    /// Stored as received.
    case bytes
  }

  /// Where the record key comes from.
  enum KeySource: Sendable, Equatable {
    /// The MQTT topic, so each device keeps its order within one partition.
    case topic
    case none
    case jsonPointer(String)
  }

  /// MQTT protocol level.
  enum ProtocolVersion: String, Sendable {
    case v311 = "3.1.1"
    case v5 = "5"
  }

  /// One subscription: a topic filter with `+`/`#` wildcards and the QoS asked for.
  struct Subscription: Sendable, Equatable {
    var filter: String
    var qos: Int
  }

  /// Certificates for `mqtts://`.
  struct TLS: Sendable, Equatable {
    var caFile: String?
    var certFile: String?
    var keyFile: String?
    /// Skips the broker's host-name and chain checks; for tests only.
    var insecure: Bool
  }

  /// What happens to a payload that fails validation or routing.
  enum InvalidPayload: Sendable, Equatable {
    case deadLetter(topic: String)
    case drop
  }

  var name: String
  var host: String
  var port: Int
  var tls: TLS?
  var clientID: String
  var username: String?
  var password: String?
  var protocolVersion: ProtocolVersion
  /// `keep_alive`: 5 s to 65,535 s (MQTT's two-byte field of seconds).
  var keepAlive: Duration
  var cleanSession: Bool
  /// MQTT 5 session expiry: how long the broker keeps the session while the worker is away.
  var sessionExpiry: Duration
  var subscriptions: [Subscription]
  var payload: Payload
  var key: KeySource
  var topic: TopicTemplate
  var invalidPayload: InvalidPayload
  /// Messages received but not yet durable, at most: the MQTT 5 receive maximum, and the batch
  /// the network loop reads before it makes them durable.
  var maxInflight: Int
  /// `reconnect.initial` / `reconnect.max`: the backoff between connection attempts.
  var reconnectInitial: Duration
  var reconnectMaximum: Duration

  /// The `config:` keys, as `/connector-plugins` describes them.
  static let definitions: [ConfigKeyDefinition] = [
    .init(
      "url", .string, required: true, importance: .high, group: "Broker",
      "The broker: mqtt://host:1883 or mqtts://host:8883 for TLS."),
    .init(
      "tls.ca", .string, importance: .low, group: "TLS",
      "A CA file that verifies the broker (mqtts:// only)."),
    .init(
      "tls.cert", .string, importance: .low, group: "TLS",
      "A client certificate file (with tls.key)."),
    .init(
      "tls.key", .string, importance: .low, group: "TLS",
      "The client certificate's private key file."),
    .init(
      "tls.insecure", .boolean, default: "false", importance: .low, group: "TLS",
      "Skip the broker's host-name and chain checks (tests only)."),
    .init(
      "client_id", .string, importance: .high, group: "Session",
      "The MQTT client id, one session per id; default sluice-<name>."),
    .init("username", .string, importance: .medium, group: "Broker", "The user name."),
    .init(
      "password", .password, importance: .medium, group: "Broker",
      "The password (needs a username)."),
    .init(
      "protocol", .string, default: "5", importance: .low, group: "Broker",
      allowed: ["5", "3.1.1"], "The MQTT protocol version."),
    .init(
      "keep_alive", .string, default: "60s", importance: .low, group: "Session",
      "The keep-alive interval, 5s to 65535s (milliseconds or a duration)."),
    .init(
      "clean_session", .boolean, default: "false", importance: .medium, group: "Session",
      "false: a persistent session, so the broker keeps what is published while the worker is away."
    ),
    .init(
      "session_expiry", .string, default: "7d", importance: .low, group: "Session",
      "MQTT 5: how long the broker keeps the session (a duration)."),
    .init(
      "subscriptions", .list, required: true, importance: .high, group: "Subscriptions",
      shape: .list,
      "Topic filters with + and # wildcards: a JSON list of filters or of {\"filter\": …, \"qos\": …} objects, or a comma-separated list of filters."
    ),
    .init(
      "qos", .int, default: "1", importance: .medium, group: "Subscriptions",
      "The QoS asked for by subscriptions that give none (0 to 2; 1 loses least)."),
    .init(
      "payload", .string, default: "json", importance: .medium, group: "Records",
      allowed: ["json", "text", "bytes"],
      "json: validated JSON; text: UTF-8; bytes: as received. Invalid payloads go to the DLQ topic."
    ),
    .init(
      "key", .string, default: "topic", importance: .medium, group: "Records",
      "The record key: topic (the MQTT topic), none, or json:/pointer into the payload."),
    .init(
      "max_inflight", .int, default: "1000", importance: .low, group: "Session",
      "Messages received but not yet durable, at most (the MQTT 5 receive maximum; 1 to 65535)."),
    .init(
      "reconnect.initial", .string, default: "500ms", importance: .low, group: "Session",
      "The first wait before reconnecting to a lost broker."),
    .init(
      "reconnect.max", .string, default: "30s", importance: .low, group: "Session",
      "The longest wait between reconnects."),
  ]

  init(definition: ConnectorDefinition) throws {
    name = definition.name
    let m = try definition.configMapping(Self.definitions)

    // Broker address.
    let urlNode = try m.required("url")
    let url = try urlNode.string()
    let secure: Bool
    let rest: Substring
    if url.hasPrefix("mqtt://") {
      secure = false
      rest = url.dropFirst(7)
    } else if url.hasPrefix("mqtts://") {
      secure = true
      rest = url.dropFirst(8)
    } else {
      throw urlNode.error(
        "expected mqtt://host:port or mqtts://host:port, got \(CredentialMask.masking(urlNode.kindDescription))"
      )
    }
    let authority = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0]
    if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
      guard let port = Int(authority[authority.index(after: colon)...]), (1...65535).contains(port)
      else { throw urlNode.error("expected a port from 1 to 65535 in '\(url)'") }
      self.port = port
      host = String(authority[..<colon])
    } else {
      port = secure ? 8883 : 1883
      host = String(authority)
    }
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { throw urlNode.error("no host in '\(url)'") }

    if let node = m.node("tls") {
      guard secure else { throw node.error("tls settings need an mqtts:// url") }
      let t = try node.mapping(allowedKeys: Self.definitions.keys(under: "tls"))
      tls = TLS(
        caFile: try t.optionalString("ca"), certFile: try t.optionalString("cert"),
        keyFile: try t.optionalString("key"), insecure: try t.bool("insecure", default: false))
      if (tls?.certFile == nil) != (tls?.keyFile == nil) {
        throw node.error("a client certificate needs both 'cert' and 'key'")
      }
      for (key, path) in [("ca", tls?.caFile), ("cert", tls?.certFile), ("key", tls?.keyFile)] {
        if let path, !FileManager.default.isReadableFile(atPath: path) {
          throw (t.node(key) ?? node).error("cannot read '\(path)'")
        }
      }
    } else {
      tls = secure ? TLS(caFile: nil, certFile: nil, keyFile: nil, insecure: false) : nil
    }

    // Session.
    clientID = try m.string("client_id", default: "sluice-\(definition.name)")
    guard !clientID.isEmpty, clientID.utf8.count <= 65535 else {
      throw (m.node("client_id") ?? m.node).error("expected a non-empty client id")
    }
    username = try m.optionalString("username")
    password = try m.optionalString("password")
    if password != nil && username == nil {
      throw (m.node("password") ?? m.node).error("a password needs a username")
    }
    let version = try m.oneOf("protocol", allowed: ["5", "3.1.1"], default: "5")
    protocolVersion = ProtocolVersion(rawValue: version)!
    keepAlive = try m.duration("keep_alive", default: .seconds(60))
    guard (Duration.seconds(5)...Duration.seconds(65_535)).contains(keepAlive) else {
      throw (m.node("keep_alive") ?? m.node).error("expected a keep-alive from 5s to 65535s")
    }
    cleanSession = try m.bool("clean_session", default: false)
    sessionExpiry = try m.duration("session_expiry", default: .seconds(7 * 86_400))

    // Subscriptions.
    let defaultQoS = try m.int("qos", default: 1, range: 0...2)
    let subscriptionsNode = try m.required("subscriptions")
    var subscriptions: [Subscription] = []
    for item in try subscriptionsNode.list() {
      var subscription: Subscription
      if case .scalar(let filter) = item.content {
        subscription = Subscription(filter: filter, qos: defaultQoS)
      } else {
        let s = try item.mapping(allowedKeys: ["filter", "qos"])
        subscription = Subscription(
          filter: try s.string("filter"), qos: try s.int("qos", default: defaultQoS, range: 0...2))
      }
      if let problem = Self.filterProblem(subscription.filter) { throw item.error(problem) }
      subscriptions.append(subscription)
    }
    guard !subscriptions.isEmpty else {
      throw subscriptionsNode.error("expected at least one subscription")
    }
    self.subscriptions = subscriptions

    // Records.
    payload = Payload(
      rawValue: try m.oneOf("payload", allowed: ["json", "text", "bytes"], default: "json"))!
    key = .topic
    if let node = m.node("key") {
      let text = try node.string()
      if text == "topic" {
        key = .topic
      } else if text == "none" {
        key = .none
      } else if text.hasPrefix("json:/") || text == "json:" {
        guard payload == .json else { throw node.error("a json: key needs payload: json") }
        key = .jsonPointer(String(text.dropFirst(5)))
      } else {
        throw node.error("expected topic, none or json:/pointer, got \(node.kindDescription)")
      }
    }
    maxInflight = try m.int("max_inflight", default: 1000, range: 1...65535)
    reconnectInitial = .milliseconds(500)
    reconnectMaximum = .seconds(30)
    if let node = m.node("reconnect") {
      let r = try node.mapping(allowedKeys: Self.definitions.keys(under: "reconnect"))
      reconnectInitial = max(
        .milliseconds(10), try r.duration("initial", default: reconnectInitial))
      reconnectMaximum = max(reconnectInitial, try r.duration("max", default: reconnectMaximum))
    }

    if definition.deadLetterTopicIsExplicit || !definition.sinkErrorPolicy.tolerateAll {
      invalidPayload = .deadLetter(
        topic: definition.sinkErrorPolicy.deadLetterTopic ?? "\(definition.name).dlq")
    } else {
      invalidPayload = .drop
    }

    let topicNode = try definition.requiredTopicNode()
    let isJSON = payload == .json
    do {
      topic = try TopicTemplate(definition.topic ?? "")
      try topic.validate(
        isKnown: { Int($0).map { $0 >= 0 } ?? false || ($0.hasPrefix("json:/") && isJSON) },
        known: "{N} (MQTT topic level N, from 0) and {json:/pointer} with payload: json")
    } catch {
      throw topicNode.error(error.message)
    }
  }

  /// Why `filter` is not a valid MQTT subscription filter, or nil.
  static func filterProblem(_ filter: String) -> String? {
    guard !filter.isEmpty else { return "an empty topic filter" }
    guard filter.utf8.count <= 65535, !filter.contains("\0") else {
      return "topic filter too long or contains NUL"
    }
    let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
    for (i, level) in levels.enumerated() {
      if level.contains("#") && (level != "#" || i != levels.count - 1) {
        return "'#' must be a whole level and the last one, in '\(filter)'"
      }
      if level.contains("+") && level != "+" {
        return "'+' must be a whole level, in '\(filter)'"
      }
    }
    return nil
  }
}
