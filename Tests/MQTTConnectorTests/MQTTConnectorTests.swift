import SluiceCore
import XCTest

@testable import MQTTConnector

/// Config validation, routing, the redelivery filter and the session state machine, without a
/// broker (the broker tests are in IntegrationTests/MQTTSourceTests.swift).
final class MQTTConnectorTests: XCTestCase {
  private func config(_ yaml: String, topic: String = "sensors.{1}") throws -> MQTTConfig {
    let text = "name: plant\nsource: mqtt\ntopic: \"\(topic)\"\n" + yaml
    return try MQTTConfig(definition: ConnectorDefinition.parse(text: text, file: "plant.yaml"))
  }

  func testConfigDefaultsAndSubscriptions() throws {
    let c = try config(
      """
      config:
        url: mqtt://127.0.0.1:1884
        subscriptions: [ { filter: "plant/+/temperature", qos: 2 }, "plant/+/status/#" ]
      """)
    XCTAssertEqual(c.host, "127.0.0.1")
    XCTAssertEqual(c.port, 1884)
    XCTAssertEqual(c.protocolVersion, .v5)
    XCTAssertFalse(c.cleanSession)
    XCTAssertEqual(c.clientID, "sluice-plant")
    XCTAssertEqual(
      c.subscriptions,
      [.init(filter: "plant/+/temperature", qos: 2), .init(filter: "plant/+/status/#", qos: 1)])
    XCTAssertEqual(c.payload, .json)
    XCTAssertEqual(c.key, .topic)
    XCTAssertEqual(c.invalidPayload, .deadLetter(topic: "plant.dlq"))
    XCTAssertNil(c.tls)
  }

  func testConfigErrorsPointAtTheValue() throws {
    func message(_ yaml: String, topic: String = "sensors.{1}") -> String {
      do {
        _ = try config(yaml, topic: topic)
        return "no error"
      } catch { return "\(error)" }
    }
    XCTAssertTrue(
      message("config: { url: http://x, subscriptions: [a] }").contains("mqtt://host:port"))
    XCTAssertTrue(
      message("config: { url: mqtt://x, subscriptions: [\"a/#/b\"] }").contains("'#' must be"))
    XCTAssertTrue(message("config: { url: mqtt://x, subscriptions: [\"a/b+\"] }").contains("'+'"))
    XCTAssertTrue(message("config: { url: mqtt://x, subscriptions: [] }").contains("at least one"))
    XCTAssertTrue(
      message("config: { url: mqtt://x, subscriptions: [a], protocol: 4 }").contains("3.1.1"))
    XCTAssertTrue(
      message("config: { url: mqtt://x, subscriptions: [a], payload: text, key: \"json:/id\" }")
        .contains("payload: json"))
    XCTAssertTrue(
      message("config: { url: mqtt://x, subscriptions: [a] }", topic: "s.{device}").contains(
        "unknown placeholder"))
    XCTAssertTrue(
      message("config: { url: mqtt://x, subscriptions: [a], tls: { ca: /x } }").contains("mqtts"))
    XCTAssertTrue(
      message("config: { url: mqtt://x, subscriptions: [a], clean_sesion: true }").contains(
        "did you mean 'clean_session'"))
  }

  func testErrorsSettingsChooseDeadLetterOrDrop() throws {
    let base = "config: { url: mqtts://broker, subscriptions: [a] }\n"
    XCTAssertEqual(try config(base).port, 8883)
    XCTAssertEqual(
      try config(base + "errors: { tolerance: all }").invalidPayload, .drop)
    XCTAssertEqual(
      try config(base + "errors: { tolerance: all, dlq_topic: sensors.dlq }").invalidPayload,
      .deadLetter(topic: "sensors.dlq"))
  }

  func testRoutingByLevelsKeysHeadersAndPayloadChecks() throws {
    var mapper = MQTTRecordMapper(
      config: try config(
        "config: { url: mqtt://x, subscriptions: [\"plant/#\"], key: \"json:/id\" }"))
    let message = MQTTMessage(
      mid: 7, topic: "plant/line1/temperature", payload: Array(#"{"id":"t-1","c":21.5}"#.utf8),
      qos: 1, retain: true, contentType: "application/json", userProperties: [("site", "north")])
    guard case .record(let record) = mapper.map(message, receivedMs: 5) else {
      return XCTFail("expected a record")
    }
    XCTAssertEqual(record.topic, "sensors.line1")
    XCTAssertEqual(record.key, Array("t-1".utf8))
    XCTAssertEqual(record.timestamp, 5)
    let headers = Dictionary(
      record.headers.map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) },
      uniquingKeysWith: { a, _ in a })
    XCTAssertEqual(headers["mqtt.topic"], "plant/line1/temperature")
    XCTAssertEqual(headers["mqtt.qos"], "1")
    XCTAssertEqual(headers["mqtt.retain"], "true")
    XCTAssertEqual(headers["mqtt.mid"], "7")
    XCTAssertEqual(headers["content-type"], "application/json")
    XCTAssertEqual(headers["site"], "north")

    // Invalid JSON and a topic without the level the template needs go to the DLQ.
    var bad = message
    bad.payload = Array("{oops".utf8)
    guard case .deadLetter(let dead, let reason) = mapper.map(bad, receivedMs: 5) else {
      return XCTFail("expected a dead letter")
    }
    XCTAssertEqual(dead.topic, "plant.dlq")
    XCTAssertTrue(reason.contains("not valid JSON"), reason)
    XCTAssertEqual(dead.value, Array("{oops".utf8))
    var short = message
    short.topic = "plant"
    guard case .deadLetter(_, let why) = mapper.map(short, receivedMs: 5) else {
      return XCTFail("expected a dead letter")
    }
    XCTAssertTrue(why.contains("no value for '{1}'"), why)
  }

  func testPayloadPointers() {
    let doc = Array(#"{"a":{"b":[10,{"c":"x/y"}]},"n":null,"t":true,"e~/":1}"#.utf8)
    XCTAssertEqual(PayloadPointer.text("/a/b/0", in: doc), "10")
    XCTAssertEqual(PayloadPointer.text("/a/b/1/c", in: doc), "x/y")
    XCTAssertEqual(PayloadPointer.text("/a/b/1", in: doc), #"{"c":"x/y"}"#)
    XCTAssertEqual(PayloadPointer.text("/t", in: doc), "true")
    XCTAssertEqual(PayloadPointer.text("/e~0~1", in: doc), "1")
    XCTAssertNil(PayloadPointer.text("/n", in: doc))
    XCTAssertNil(PayloadPointer.text("/missing", in: doc))
    XCTAssertNil(PayloadPointer.text("/a/b/7", in: doc))
    // The empty pointer is the whole payload: a padded string gives its text (found by fuzzing).
    XCTAssertEqual(PayloadPointer.text("", in: Array(" \"d-7\"\n".utf8)), "d-7")
    XCTAssertEqual(PayloadPointer.text("", in: Array(" 42 ".utf8)), "42")
  }

  func testRedeliveryFilterSkipsOnlyRecentWritesRightAfterAReconnect() {
    var filter = RedeliveryFilter(window: 3)
    let ids = (1...5).map { MessageIdentity(mid: $0, topic: "t", payload: [UInt8($0)]) }
    for id in ids { filter.written(id) }
    XCTAssertFalse(filter.isRedelivery(ids[4]), "no reconnect yet")
    filter.connected()
    XCTAssertFalse(filter.isRedelivery(ids[0]), "older than the window")
    XCTAssertTrue(filter.isRedelivery(ids[4]))
    XCTAssertFalse(filter.isRedelivery(ids[4]), "each written message is skipped once")
    XCTAssertFalse(filter.isRedelivery(ids[3]), "only the first `window` messages are checked")
    filter.connected()
    XCTAssertFalse(
      filter.isRedelivery(MessageIdentity(mid: 4, topic: "t", payload: [9])), "other payload")
    XCTAssertFalse(filter.isRedelivery(MessageIdentity(mid: 0, topic: "t", payload: [4])))
  }

  func testSessionLogsOncePerStateChange() {
    var session = MQTTSession(initialBackoff: .milliseconds(100), maximumBackoff: .seconds(1))
    let first = session.failed("connection refused")
    XCTAssertNotNil(first.log)
    XCTAssertNotNil(first.retryAfter)
    var delays: [Duration] = []
    for _ in 0..<10 {
      let step = session.failed("connection refused")
      XCTAssertNil(step.log)
      delays.append(step.retryAfter!)
    }
    XCTAssertLessThanOrEqual(delays.max()!, .milliseconds(1200), "capped")
    _ = session.socketOpened()
    let connected = session.accepted(sessionPresent: true)
    XCTAssertEqual(connected.log, "connected to the MQTT broker; session resumed")
    XCTAssertTrue(session.isConnected)
    XCTAssertNotNil(session.failed("connection refused").log, "a new change is logged again")
    let again = session.failed("connection refused")
    XCTAssertLessThanOrEqual(again.retryAfter!, .milliseconds(240), "backoff restarted")
  }
}
