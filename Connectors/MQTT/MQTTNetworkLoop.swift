import Foundation
import Logging
import Synchronization

/// Runs one MQTT connection on a thread of its own (never Swift's cooperative pool): connect,
/// read a batch of messages, hand them to `deliver` — which returns only when they are durable
/// — and only then write the queued PUBACKs, ping, reconnect with capped backoff.
///
/// Memory is bounded by the batch: at most `max_inflight` messages and 16 MiB are read before
/// they are delivered, and the broker sends no more QoS 1/2 messages than the receive maximum
/// without PUBACKs, which wait for `deliver`. When the store is slower than the feed, the loop
/// simply reads later and TCP pushes back on the broker.
final class MQTTNetworkLoop: Sendable {
  /// Called on the loop thread with one batch; returns when every message is durable (or
  /// deliberately skipped). Throwing ends the loop without acknowledging the batch.
  typealias Deliver = ([MQTTMessage]) throws -> Void

  static let maxBatchBytes = 16 << 20

  private let config: MQTTConfig
  private let logger: Logger
  private let stopped = Atomic<Bool>(false)
  /// Called on the loop thread whenever the connection state changes.
  private let onState: @Sendable (MQTTSession.State) -> Void

  init(
    config: MQTTConfig, logger: Logger,
    onState: @escaping @Sendable (MQTTSession.State) -> Void
  ) {
    self.config = config
    self.logger = logger
    self.onState = onState
  }

  /// Asks the loop to finish its current batch, disconnect and return.
  func stop() { stopped.store(true, ordering: .releasing) }

  private var isStopped: Bool { stopped.load(ordering: .acquiring) }

  /// The loop itself; blocks the calling thread until `stop()` or a failed delivery.
  func run(connected: () -> Void, deliver: Deliver) throws {
    let client = try MQTTClient(config: config)
    var session = MQTTSession(
      initialBackoff: config.reconnectInitial, maximumBackoff: config.reconnectMaximum)
    var open = false

    func apply(_ step: MQTTSession.Step) {
      if let line = step.log {
        if session.isConnected {
          logger.info("\(line)", metadata: ["broker": "\(config.host):\(config.port)"])
        } else {
          logger.warning("\(line)", metadata: ["broker": "\(config.host):\(config.port)"])
        }
      }
      onState(session.state)
      if let delay = step.retryAfter { sleep(delay) }
    }

    while !isStopped {
      if !open {
        if let error = client.connect() {
          apply(session.failed(error.message))
          continue
        }
        open = true
        apply(session.socketOpened())
      }

      var lost: MQTTError?
      if wait(client.socket, forWrite: client.wantsWrite, timeout: .milliseconds(200)) {
        // One packet per read; a read that yields no message (socket drained, a packet only
        // partly arrived, or a packet that is not a PUBLISH) ends the batch, so a busy feed
        // costs no extra poll per message.
        var count = -1
        while client.inbox.count != count && client.inbox.count < config.maxInflight
          && client.inboxBytes < Self.maxBatchBytes
        {
          count = client.inbox.count
          if let error = client.read() {
            lost = error
            break
          }
        }
      }
      for event in client.takeEvents() {
        switch event {
        case .connected(let sessionPresent):
          apply(session.accepted(sessionPresent: sessionPresent))
          connected()
        case .refused(let reason):
          lost = MQTTError(code: -1, message: "the broker refused the connection: \(reason)")
        case .subscriptionRefused(let reason):
          logger.error("\(reason)")
        }
      }
      // Messages read before a lost connection are delivered too: their PUBACKs never left,
      // so the broker sends them again and the redelivery filter recognises them.
      if !client.inbox.isEmpty { try deliver(client.takeInbox()) }
      if lost == nil && client.wantsWrite { lost = client.write() }
      if lost == nil { lost = client.misc() }
      if let lost {
        open = false
        apply(session.failed(lost.message))
      }
    }
    if open { client.disconnect() }
  }

  /// Polls the socket; true when it is readable (or closed, which a read then reports).
  private func wait(_ socket: Int32, forWrite: Bool, timeout: Duration) -> Bool {
    guard socket >= 0 else { return true }
    var fd = pollfd(
      fd: socket, events: Int16(POLLIN) | (forWrite ? Int16(POLLOUT) : 0), revents: 0)
    guard poll(&fd, 1, Int32(clamping: timeout.inMilliseconds)) > 0 else { return false }
    return fd.revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0
  }

  /// Sleeps in short steps so that `stop()` is noticed.
  private func sleep(_ delay: Duration) {
    let end = ContinuousClock.now + delay
    while !isStopped && ContinuousClock.now < end {
      Thread.sleep(forTimeInterval: min(0.1, (end - ContinuousClock.now).inSeconds))
    }
  }
}
