import SluiceCore

/// What identifies one delivery of a QoS 1/2 message: the broker's packet identifier, the MQTT
/// topic and the payload (by length and FNV-1a hash).
struct MessageIdentity: Hashable, Sendable {
  var mid: Int
  var topic: String
  var length: Int
  var hash: UInt64

  init(mid: Int, topic: String, payload: [UInt8]) {
    self.mid = mid
    self.topic = topic
    self.length = payload.count
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in payload {
      h ^= UInt64(byte)
      h &*= 0x100_0000_01b3
    }
    self.hash = h
  }
}

/// Recognises QoS 1/2 messages that the broker sends again after a lost connection or a crash,
/// although they were already written, so they do not become duplicates in the topic.
///
/// What is recognisable: a message is written before its PUBACK leaves, so the only messages
/// that can come back after being written are the ones whose PUBACK had not reached the broker
/// — at most the receive maximum (`max_inflight`) of them, the most recently written ones. MQTT
/// requires the broker to resend them, on the resumed session, with their original packet
/// identifier and before new messages take their place. So after each (re)connect, the first
/// `window` messages are compared with the last `window` written ones by packet identifier,
/// topic and payload; a match is a redelivery and is skipped (and acknowledged). Messages
/// published twice by a device are different packets and are kept, except in the unlikely case
/// that a new one has the same identifier, topic and payload as one of the last `window`
/// written and arrives within the first `window` after a reconnect. The written identities live
/// in the records (`mqtt.mid`, `mqtt.topic`, the value), so ``rebuild(from:)``
/// restores them after a crash.
struct RedeliveryFilter {
  let window: Int
  private var recent: [MessageIdentity] = []
  private var next = 0
  private var candidates: [MessageIdentity: Int] = [:]
  private var checksLeft = 0

  init(window: Int) { self.window = max(1, window) }

  /// A (re)connect: the last written messages may come back among the next `window`.
  mutating func connected() {
    candidates.removeAll(keepingCapacity: true)
    for identity in recent { candidates[identity, default: 0] += 1 }
    checksLeft = candidates.isEmpty ? 0 : window
  }

  /// Whether this message is a redelivery of one already written; QoS 0 never is.
  mutating func isRedelivery(_ identity: MessageIdentity) -> Bool {
    guard identity.mid != 0, checksLeft > 0 else { return false }
    checksLeft -= 1
    if checksLeft == 0 { candidates.removeAll() }
    guard let count = candidates[identity] else { return false }
    candidates[identity] = count > 1 ? count - 1 : nil
    return true
  }

  /// A message that is now durable in a topic.
  mutating func written(_ identity: MessageIdentity) {
    guard identity.mid != 0 else { return }
    if recent.count < window {
      recent.append(identity)
    } else {
      recent[next] = identity
      next = (next + 1) % window
    }
  }

  var count: Int { recent.count }

  /// Starts from the last `window` messages this connector wrote, oldest first
  /// (``SourceTaskContext/recentlyWritten(maxAge:maxCount:)``).
  mutating func rebuild(from records: [Record]) {
    recent = []
    next = 0
    for record in records {
      guard
        let mid = record.header(MQTTHeaders.mid).flatMap({
          Int(String(decoding: $0, as: UTF8.self))
        }),
        mid != 0, let topic = record.header(MQTTHeaders.topic)
      else { continue }
      written(
        MessageIdentity(
          mid: mid, topic: String(decoding: topic, as: UTF8.self), payload: record.value ?? []))
    }
  }
}
