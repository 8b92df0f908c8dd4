import CMosquitto
import Foundation

/// An error from libmosquitto or the broker, with the library's own message.
struct MQTTError: Error, CustomStringConvertible, Sendable, Equatable {
  var code: Int32
  var message: String

  var description: String { message }

  init(code: Int32, message: String) {
    self.code = code
    self.message = message
  }

  /// The message libmosquitto gives for one of its error codes; `MOSQ_ERR_ERRNO` reads errno.
  init(code: Int32, doing action: String) {
    self.code = code
    var text = String(cString: mosquitto_strerror(code))
    if code == Int32(MOSQ_ERR_ERRNO.rawValue) { text = String(cString: strerror(errno)) }
    self.message = "\(action): \(text)"
  }
}

/// Something the callbacks saw that the network loop acts on, in order.
enum MQTTClientEvent: Sendable, Equatable {
  /// CONNACK accepted; whether the broker still had our session.
  case connected(sessionPresent: Bool)
  /// CONNACK refused, with the broker's reason.
  case refused(String)
  /// A SUBACK refused a filter.
  case subscriptionRefused(String)
}

/// One libmosquitto client, the only file that touches libmosquitto.
///
/// The network loop (``MQTTNetworkLoop``) drives it from a thread of its own, step by step —
/// read, make durable, write — instead of `mosquitto_loop_forever`, because libmosquitto queues
/// the PUBACK of a QoS 1 message before it calls the message callback: in threaded mode that
/// queued PUBACK is only written by the next write step, so the loop can make the messages
/// durable in between (README, "MQTT source"). Raw pointers and C strings stay in this file.
final class MQTTClient {
  private let handle: OpaquePointer
  private let config: MQTTConfig

  /// Messages read since the loop last took them; bounded by the loop's batch limit.
  private(set) var inbox: [MQTTMessage] = []
  private(set) var inboxBytes = 0
  private(set) var events: [MQTTClientEvent] = []

  private static let libraryReady: Bool = {
    mosquitto_lib_init()
    return true
  }()

  // MQTT 5 identifiers (mqtt_protocol.h, which the shim does not include).
  private static let propertyContentType: Int32 = 3
  private static let propertySessionExpiry: Int32 = 17
  private static let propertyUserProperty: Int32 = 38
  private static let subscribeRetainNew: Int32 = 0x10

  init(config: MQTTConfig) throws(MQTTError) {
    _ = Self.libraryReady
    self.config = config
    guard let handle = mosquitto_new(config.clientID, config.cleanSession, nil) else {
      throw MQTTError(
        code: -1, message: "cannot create an MQTT client: \(String(cString: strerror(errno)))")
    }
    self.handle = handle
    mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
    // Threaded mode: packets (PUBACKs included) are queued and written only by `write()`.
    try check(mosquitto_threaded_set(handle, true), "threaded mode")
    let version = config.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
    try check(
      mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, Int32(version)), "protocol version")
    if config.protocolVersion == .v5 {
      // The broker sends at most this many QoS 1/2 messages without our acknowledgement.
      try check(
        mosquitto_int_option(handle, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(config.maxInflight)),
        "receive maximum")
    }
    _ = mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1)
    if let username = config.username {
      try check(mosquitto_username_pw_set(handle, username, config.password), "credentials")
    }
    if let tls = config.tls {
      if tls.caFile == nil {
        try check(mosquitto_int_option(handle, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "system CAs")
      }
      let set = mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil)
      // With no CA file libmosquitto wants a CA path; the system store stands in for it.
      if set != MOSQ_ERR_SUCCESS.rawValue && tls.caFile == nil {
        try check(
          mosquitto_tls_set(handle, nil, "/etc/ssl/certs", tls.certFile, tls.keyFile, nil), "TLS")
      } else {
        try check(set, "TLS")
      }
      if tls.insecure {
        try check(mosquitto_tls_opts_set(handle, 0, nil, nil), "TLS verification off")
        try check(mosquitto_tls_insecure_set(handle, true), "TLS host-name check off")
      }
    }
    installCallbacks()
  }

  deinit {
    // Closes the socket without writing what is queued: PUBACKs of messages that are not
    // durable must never reach the broker.
    mosquitto_destroy(handle)
  }

  // MARK: - Steps of the network loop

  /// Opens the TCP (and TLS) connection and queues CONNECT; the CONNACK arrives through `read`.
  func connect() -> MQTTError? {
    var properties: OpaquePointer? = nil
    defer { mosquitto_property_free_all(&properties) }
    if config.protocolVersion == .v5 && !config.cleanSession {
      // MQTT 5 ends a session when the connection closes unless CONNECT asks for an expiry.
      mosquitto_property_add_int32(
        &properties, Self.propertySessionExpiry,
        UInt32(clamping: config.sessionExpiry.inMilliseconds / 1000))
    }
    let rc = mosquitto_connect_bind_v5(
      handle, config.host, Int32(config.port),
      Int32(config.keepAlive.inMilliseconds / 1000), nil, properties)
    return rc == MOSQ_ERR_SUCCESS.rawValue
      ? nil : MQTTError(code: rc, doing: "cannot connect to \(config.host):\(config.port)")
  }

  /// The socket to poll, or -1 when not connected.
  var socket: Int32 { mosquitto_socket(handle) }

  /// Reads what the socket has (at least one packet when readable); messages land in `inbox`.
  func read() -> MQTTError? {
    let rc = mosquitto_loop_read(handle, 1)
    return rc == MOSQ_ERR_SUCCESS.rawValue ? nil : MQTTError(code: rc, doing: "connection lost")
  }

  /// Whether packets (PUBACKs, SUBSCRIBE, PINGREQ) wait to be written.
  var wantsWrite: Bool { mosquitto_want_write(handle) }

  /// Writes queued packets; call only once every message read so far is durable.
  func write() -> MQTTError? {
    let rc = mosquitto_loop_write(handle, 1)
    return rc == MOSQ_ERR_SUCCESS.rawValue ? nil : MQTTError(code: rc, doing: "connection lost")
  }

  /// Keep-alive: queues PINGREQ when due and notices a broker that stopped answering.
  func misc() -> MQTTError? {
    let rc = mosquitto_loop_misc(handle)
    return rc == MOSQ_ERR_SUCCESS.rawValue ? nil : MQTTError(code: rc, doing: "keep-alive")
  }

  /// Queues DISCONNECT (the session stays on the broker unless clean) and writes it.
  func disconnect() {
    guard mosquitto_disconnect(handle) == MOSQ_ERR_SUCCESS.rawValue else { return }
    for _ in 0..<10 where wantsWrite && socket >= 0 {
      if write() != nil { break }
    }
  }

  func takeInbox() -> [MQTTMessage] {
    defer {
      inbox.removeAll(keepingCapacity: true)
      inboxBytes = 0
    }
    return inbox
  }

  func takeEvents() -> [MQTTClientEvent] {
    defer { events.removeAll() }
    return events
  }

  // MARK: - Callbacks (on the loop thread, inside read())

  private static func client(_ userdata: UnsafeMutableRawPointer?) -> MQTTClient {
    Unmanaged<MQTTClient>.fromOpaque(userdata!).takeUnretainedValue()
  }

  private func installCallbacks() {
    mosquitto_connect_with_flags_callback_set(handle) { _, userdata, rc, flags in
      MQTTClient.client(userdata).connected(rc: rc, sessionPresent: flags & 1 == 1)
    }
    mosquitto_message_v5_callback_set(handle) { _, userdata, message, properties in
      guard let message else { return }
      MQTTClient.client(userdata).received(message.pointee, properties)
    }
    mosquitto_subscribe_callback_set(handle) { _, userdata, mid, count, granted in
      guard let granted else { return }
      let client = MQTTClient.client(userdata)
      for i in 0..<Int(count) where granted[i] >= 0x80 {
        let filter =
          i < client.config.subscriptions.count ? client.config.subscriptions[i].filter : "?"
        client.events.append(
          .subscriptionRefused(
            "the broker refused the subscription '\(filter)' (code \(granted[i]))"))
      }
      _ = mid
    }
  }

  private func connected(rc: Int32, sessionPresent: Bool) {
    guard rc == 0 else {
      let reason =
        config.protocolVersion == .v5
        ? String(cString: mosquitto_reason_string(rc))
        : String(cString: mosquitto_connack_string(rc))
      events.append(.refused(reason))
      return
    }
    events.append(.connected(sessionPresent: sessionPresent))
    // Subscribe on every connect so that edited subscriptions take effect. MQTT 5 asks for
    // retained messages only on a new subscription, so a reconnect does not repeat them.
    let options = config.protocolVersion == .v5 ? Self.subscribeRetainNew : 0
    for subscription in config.subscriptions {
      let rc = mosquitto_subscribe_v5(
        handle, nil, subscription.filter, Int32(subscription.qos), options, nil)
      if rc != MOSQ_ERR_SUCCESS.rawValue {
        events.append(
          .subscriptionRefused(
            MQTTError(code: rc, doing: "cannot subscribe to '\(subscription.filter)'").message))
      }
    }
  }

  private func received(_ message: mosquitto_message, _ properties: OpaquePointer?) {
    let topic = String(cString: message.topic)
    let count = Int(message.payloadlen)
    let payload: [UInt8] =
      count > 0 && message.payload != nil
      ? Array(UnsafeRawBufferPointer(start: message.payload, count: count)) : []
    var incoming = MQTTMessage(
      mid: Int(message.mid), topic: topic, payload: payload, qos: Int(message.qos),
      retain: message.retain)
    var property = properties
    while let current = property {
      switch mosquitto_property_identifier(current) {
      case Self.propertyContentType:
        var value: UnsafeMutablePointer<CChar>? = nil
        if mosquitto_property_read_string(current, Self.propertyContentType, &value, false) != nil,
          let value
        {
          incoming.contentType = String(cString: value)
          free(value)
        }
      case Self.propertyUserProperty:
        var name: UnsafeMutablePointer<CChar>? = nil
        var value: UnsafeMutablePointer<CChar>? = nil
        if mosquitto_property_read_string_pair(
          current, Self.propertyUserProperty, &name, &value, false) != nil, let name, let value
        {
          incoming.userProperties.append((String(cString: name), String(cString: value)))
        }
        free(name)
        free(value)
      default: break
      }
      property = mosquitto_property_next(current)
    }
    inbox.append(incoming)
    inboxBytes += count + topic.utf8.count
  }

  private func check(_ rc: Int32, _ what: String) throws(MQTTError) {
    guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError(code: rc, doing: "MQTT \(what)") }
  }
}
