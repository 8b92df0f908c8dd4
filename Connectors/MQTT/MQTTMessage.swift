/// One PUBLISH received from the broker, copied out of libmosquitto's buffers.
struct MQTTMessage: Sendable, Equatable {
  /// The packet identifier the broker gave it (0 for QoS 0). A redelivery after a lost
  /// connection keeps the same identifier, which is what ``RedeliveryFilter`` relies on.
  var mid: Int
  var topic: String
  var payload: [UInt8]
  var qos: Int
  var retain: Bool
  /// MQTT 5 content type property.
  var contentType: String?
  /// MQTT 5 user properties, in the order the publisher sent them.
  var userProperties: [(name: String, value: String)]

  init(
    mid: Int, topic: String, payload: [UInt8], qos: Int = 1, retain: Bool = false,
    contentType: String? = nil, userProperties: [(name: String, value: String)] = []
  ) {
    self.mid = mid
    self.topic = topic
    self.payload = payload
    self.qos = qos
    self.retain = retain
    self.contentType = contentType
    self.userProperties = userProperties
  }

  static func == (a: Self, b: Self) -> Bool {
    a.mid == b.mid && a.topic == b.topic && a.payload == b.payload && a.qos == b.qos
      && a.retain == b.retain && a.contentType == b.contentType
      && a.userProperties.elementsEqual(b.userProperties) { $0 == $1 }
  }
}
