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
  /// Per MQTT topic: the rendered topic name (when the template uses only levels, the common
  /// case) and the topic's bytes, shared by the key and the `mqtt.topic` header of every record
  /// from it, so a busy feed allocates them once rather than per message.
  private var topics: [String: TopicEntry] = [:]
  private let templateUsesPayload: Bool
  // Header values that repeat, allocated once (records share them copy-on-write).
  private let connectorHeader: RecordHeader
  private let qosHeaders: [RecordHeader]
  private let retainHeaders: (no: RecordHeader, yes: RecordHeader)

  private struct TopicEntry {
    var bytes: [UInt8]
    var rendered: Result<String, TemplateError>?
  }

  init(config: MQTTConfig) {
    self.config = config
    templateUsesPayload = config.topic.placeholders.contains { $0.hasPrefix("json:") }
    connectorHeader = RecordHeader(SourceHeaders.connector, config.name)
    qosHeaders = (0...2).map { RecordHeader(MQTTHeaders.qos, String($0)) }
    retainHeaders = (
      RecordHeader(MQTTHeaders.retain, "false"), RecordHeader(MQTTHeaders.retain, "true")
    )
  }

  mutating func map(_ message: MQTTMessage, receivedMs: Int64) -> Outcome {
    let entry = topicEntry(message)
    var headers: [RecordHeader] = []
    headers.reserveCapacity(5 + message.userProperties.count + 1)
    headers.append(connectorHeader)
    headers.append(RecordHeader(name: MQTTHeaders.topic, value: entry.bytes))
    headers.append(qosHeaders[min(max(message.qos, 0), 2)])
    headers.append(message.retain ? retainHeaders.yes : retainHeaders.no)
    headers.append(RecordHeader(MQTTHeaders.mid, String(message.mid)))
    if let type = message.contentType {
      headers.append(RecordHeader(MQTTHeaders.contentType, type))
    }
    for property in message.userProperties {
      headers.append(RecordHeader(property.name, property.value))
    }

    if let problem = payloadProblem(message.payload) {
      return invalid(
        message, headers: headers, key: entry.bytes, reason: problem, receivedMs: receivedMs)
    }
    let topic: String
    switch entry.rendered ?? Result(catching: { () throws(TemplateError) in try render(message) }) {
    case .success(let name): topic = name
    case .failure(let error):
      return invalid(
        message, headers: headers, key: entry.bytes, reason: error.message, receivedMs: receivedMs)
    }
    let key: [UInt8]?
    switch config.key {
    case .topic: key = entry.bytes
    case .none: key = nil
    case .jsonPointer(let pointer):
      key = PayloadPointer.text(pointer, in: message.payload).map { Array($0.utf8) }
    }
    return .record(
      SourceRecord(
        topic: topic, key: key, value: message.payload, headers: headers, timestamp: receivedMs,
        position: nil))
  }

  private mutating func topicEntry(_ message: MQTTMessage) -> TopicEntry {
    if let known = topics[message.topic] { return known }
    let entry = TopicEntry(
      bytes: Array(message.topic.utf8),
      rendered: templateUsesPayload
        ? nil : Result(catching: { () throws(TemplateError) in try render(message) }))
    // Bounded: a feed with endless distinct topics must not grow memory without bound.
    if topics.count >= 10_000 { topics.removeAll(keepingCapacity: true) }
    topics[message.topic] = entry
    return entry
  }

  /// Why the payload does not fit `payload:`, or nil.
  func payloadProblem(_ payload: [UInt8]) -> String? {
    switch config.payload {
    case .bytes: return nil
    case .text:
      return String(validating: payload, as: UTF8.self) == nil ? "payload is not valid UTF-8" : nil
    case .json:
      return JSONValidator.errorOffset(payload).map {
        "payload is not valid JSON: error at byte \($0)"
      }
    }
  }

  private func render(_ message: MQTTMessage) throws(TemplateError) -> String {
    var levels: [Substring]?
    return try config.topic.render { placeholder in
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
  }

  private func invalid(
    _ message: MQTTMessage, headers: [RecordHeader], key: [UInt8], reason: String,
    receivedMs: Int64
  ) -> Outcome {
    switch config.invalidPayload {
    case .drop: return .drop(reason: reason)
    case .deadLetter(let topic):
      let record = SourceRecord(
        topic: topic, key: key, value: message.payload,
        headers: headers + [
          RecordHeader(DeadLetterHeaders.connector, config.name),
          RecordHeader(DeadLetterHeaders.reason, reason),
        ], timestamp: receivedMs, position: nil)
      return .deadLetter(record, reason: reason)
    }
  }
}
