import SluiceCore

/// Header names the MQTT source puts on every record it writes.
enum MQTTHeaders {
  static let topic = "mqtt.topic"
  static let qos = "mqtt.qos"
  static let retain = "mqtt.retain"
  /// The broker's packet identifier, kept so that a redelivery can be recognised after a crash.
  static let mid = "mqtt.mid"
  static let contentType = "content-type"
}

/// Turns received MQTT messages into records: the topic from the template (MQTT levels or JSON
/// pointers), the key, the headers, and the payload check. Pure, so routing is unit-tested
/// without a broker.
struct MQTTRecordMapper {
  /// What becomes of one message.
  enum Outcome: Equatable {
    case record(SourceRecord)
    /// Invalid payload or unroutable topic: this record goes to the dead-letter topic.
    case deadLetter(SourceRecord, reason: String)
    /// Invalid, and `errors.tolerance: all` without a `dlq_topic`: counted and dropped.
    case drop(reason: String)
  }

  let config: MQTTConfig
  /// Rendered topic names per MQTT topic, when the template uses only levels (the common case).
  private var topicCache: [String: String] = [:]
  private let templateUsesPayload: Bool

  init(config: MQTTConfig) {
    self.config = config
    templateUsesPayload = config.topic.placeholders.contains { $0.hasPrefix("json:") }
  }

  mutating func map(_ message: MQTTMessage, receivedMs: Int64) -> Outcome {
    var headers = [
      RecordHeader(SourceHeaders.connector, config.name),
      RecordHeader(MQTTHeaders.topic, message.topic),
      RecordHeader(MQTTHeaders.qos, String(message.qos)),
      RecordHeader(MQTTHeaders.retain, message.retain ? "true" : "false"),
      RecordHeader(MQTTHeaders.mid, String(message.mid)),
    ]
    if let type = message.contentType { headers.append(RecordHeader(MQTTHeaders.contentType, type)) }
    for property in message.userProperties {
      headers.append(RecordHeader(property.name, property.value))
    }

    if let problem = payloadProblem(message.payload) {
      return invalid(message, headers: headers, reason: problem, receivedMs: receivedMs)
    }
    let topic: String
    do {
      topic = try render(message)
    } catch {
      return invalid(message, headers: headers, reason: error.message, receivedMs: receivedMs)
    }
    let key: [UInt8]?
    switch config.key {
    case .topic: key = Array(message.topic.utf8)
    case .none: key = nil
    case .jsonPointer(let pointer):
      key = PayloadPointer.text(pointer, in: message.payload).map { Array($0.utf8) }
    }
    return .record(
      SourceRecord(
        topic: topic, key: key, value: message.payload, headers: headers, timestamp: receivedMs,
        position: nil))
  }

  /// Why the payload does not fit `payload:`, or nil.
  func payloadProblem(_ payload: [UInt8]) -> String? {
    switch config.payload {
    case .bytes: return nil
    case .text:
      return String(validating: payload, as: UTF8.self) == nil ? "payload is not valid UTF-8" : nil
    case .json:
      return JSONValidator.errorOffset(payload).map { "payload is not valid JSON: error at byte \($0)" }
    }
  }

  private mutating func render(_ message: MQTTMessage) throws(TemplateError) -> String {
    if !templateUsesPayload, let known = topicCache[message.topic] { return known }
    var levels: [Substring]?
    let rendered = try config.topic.render { placeholder in
      if let index = Int(placeholder) {
        if levels == nil {
          levels = message.topic.split(separator: "/", omittingEmptySubsequences: false)
        }
        return index < levels!.count ? String(levels![index]) : nil
      }
      if placeholder.hasPrefix("json:") {
        return PayloadPointer.text(String(placeholder.dropFirst(5)), in: message.payload)
      }
      return nil
    }
    if !templateUsesPayload {
      // Bounded: a feed with endless distinct topics must not grow memory without bound.
      if topicCache.count >= 10_000 { topicCache.removeAll(keepingCapacity: true) }
      topicCache[message.topic] = rendered
    }
    return rendered
  }

  private func invalid(
    _ message: MQTTMessage, headers: [RecordHeader], reason: String, receivedMs: Int64
  ) -> Outcome {
    switch config.invalidPayload {
    case .drop: return .drop(reason: reason)
    case .deadLetter(let topic):
      let record = SourceRecord(
        topic: topic, key: Array(message.topic.utf8), value: message.payload,
        headers: headers + [
          RecordHeader(DeadLetterHeaders.connector, config.name),
          RecordHeader(DeadLetterHeaders.reason, reason),
        ], timestamp: receivedMs, position: nil)
      return .deadLetter(record, reason: reason)
    }
  }
}
