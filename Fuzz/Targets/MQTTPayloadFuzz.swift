import Foundation

// Fuzz target `mqtt-payload`: bytes as a received MQTT message, mapped to a record by
// Connectors/MQTT (MQTTRecordMapper: payload check, topic template with MQTT levels and
// `{json:/pointer}`, key from a JSON pointer read in place by PayloadPointer).
// Input: line 1 = the JSON pointer of `key: json:<pointer>`, line 2 = the topic template,
// line 3 = the MQTT topic, the rest = the payload; byte 0 of line 1 picks `payload:` when it
// is not '/'.
//
// Check: where the payload is valid JSON, the in-place pointer gives the same string as the
// webhook's pointer over the decoded document (Sources/SluiceCore/Records/JSONPointer.swift).

/// The connector's config as MQTTConfig validates it, with the template, key and payload kind
/// from the input (through interpolation, so any text reaches the parser unquoted); nil when
/// validation refuses them, as the worker would.
nonisolated(unsafe) private var configs: [String: MQTTConfig?] = [:]
private func mqttConfig(topic: String, key: String, payload: String) -> MQTTConfig? {
  let id = "\(topic)\u{0}\(key)\u{0}\(payload)"
  if let known = configs[id] { return known }
  let yaml = """
    name: fuzz-mqtt
    source: mqtt
    topic: "${env:TOPIC}"
    config:
      url: mqtt://127.0.0.1:1883
      subscriptions: ["sensors/#"]
      payload: ${env:PAYLOAD}
      key: "${env:KEY}"
    """
  let environment = ["TOPIC": topic, "KEY": key, "PAYLOAD": payload]
  let config = try? MQTTConfig(
    definition: ConnectorDefinition.parse(text: yaml, file: "fuzz.yaml", environment: environment))
  if configs.count >= 1000 { configs.removeAll(keepingCapacity: true) }
  configs[id] = config
  return config
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMQTTPayload(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  var input = Array(UnsafeBufferPointer(start: data, count: size))[...]
  func line() -> String {
    let end = input.firstIndex(of: 0x0A) ?? input.endIndex
    defer { input = end < input.endIndex ? input[(end + 1)...] : input[end...] }
    return String(decoding: input[..<end], as: UTF8.self)
  }
  var pointer = line()
  let template = line()
  let topic = line()
  let payload = Array(input)

  let payloadKind: String
  switch pointer.utf8.first {
  case UInt8(ascii: "t"): payloadKind = "text"
  case UInt8(ascii: "b"): payloadKind = "bytes"
  default: payloadKind = "json"
  }
  if !pointer.isEmpty && !pointer.hasPrefix("/") { pointer.removeFirst() }
  let key = payloadKind == "json" ? "json:" + pointer : "topic"
  guard let config = mqttConfig(topic: template, key: key, payload: payloadKind) else { return 0 }

  var mapper = MQTTRecordMapper(config: config)
  let message = MQTTMessage(
    mid: 7, topic: topic, payload: payload, qos: 1, contentType: "application/json",
    userProperties: [("device", "d1")])
  let first = mapper.map(message, receivedMs: 1_700_000_000_000)
  // The second message from the same topic takes the cached topic entry.
  precondition(mapper.map(message, receivedMs: 1_700_000_000_000) == first, "second map differs")

  if JSONValidator.isValid(payload) {
    let inPlace = PayloadPointer.text(pointer, in: payload)
    if let document = try? JSONSerialization.jsonObject(
      with: Data(payload), options: [.fragmentsAllowed]),
      case let decoded as String = lookUp(pointer, in: document), !hasDuplicateNames(payload)
    {
      precondition(
        inPlace == decoded,
        "PayloadPointer.text(\(pointer)) is \(inPlace.debugDescription), the document has \(decoded.debugDescription)"
      )
    }
  }
  return 0
}

/// The value at `pointer` in a decoded document (RFC 6901), as JSONPointer walks it.
private func lookUp(_ pointer: String, in document: Any) -> Any? {
  guard pointer.isEmpty || pointer.hasPrefix("/") else { return nil }
  var current = document
  for raw in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
    let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(
      of: "~0", with: "~")
    if let object = current as? [String: Any], let next = object[token] {
      current = next
    } else if let array = current as? [Any], let index = Int(token), index >= 0, index < array.count
    {
      current = array[index]
    } else {
      return nil
    }
  }
  return current
}

/// Whether some object in the document repeats a name (then the in-place reader takes the first
/// and Foundation another, and the two may rightly differ).
private func hasDuplicateNames(_ bytes: [UInt8]) -> Bool {
  func check(_ range: Range<Int>) -> Bool {
    if let members = JSONObjectReader.members(of: bytes, in: range) {
      if Set(members.map(\.name)).count != members.count { return true }
      return members.contains { check($0.value) }
    }
    if let elements = JSONObjectReader.elements(of: bytes, in: range) {
      return elements.contains { check($0.value) }
    }
    return false
  }
  return check(0..<bytes.count)
}
