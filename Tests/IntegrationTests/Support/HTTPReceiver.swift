import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdHTTP2
import NIOSSL
import Logging
import NIOCore
import Synchronization

/// A real HTTP server on loopback for the HTTP sink's tests: it keeps every request it gets
/// (arrival order, method, path with query, headers, body) and answers as the test's `reply`
/// decides — a status, headers, a body, and optionally a stall first.
final class HTTPReceiver: Sendable {
  struct Received: Sendable {
    var index: Int
    var method: String
    var uri: String
    var headers: [String: String]
    var body: [UInt8]
    var arrived: Date
    var status = 0
    var answered: Date?

    var bodyText: String { String(decoding: body, as: UTF8.self) }
    var idempotencyKey: String? { headers["idempotency-key"] }
  }

  struct Reply: Sendable {
    var status = 200
    var headers: [String: String] = [:]
    var body = "{}"
    var stall: Duration = .zero
  }

  typealias Decide = @Sendable (Received) -> Reply

  /// Shared with the server's handler, which exists before `self` does.
  private final class State: Sendable {
    let requests = Mutex<[Received]>([])
    let inFlight = Mutex<(now: Int, max: Int)>((0, 0))
  }

  private let state = State()
  private let task: Task<Void, Never>
  let port: Int

  /// With `tls`, the server speaks HTTPS and offers HTTP/2 by ALPN.
  init(
    port: Int = 0, tls: TLSConfiguration? = nil, reply: @escaping Decide = { _ in Reply() }
  ) async throws {
    let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
    let state = self.state
    let responder = CallbackResponder<BasicRequestContext> { request, _ in
      var request = request
      let body = try await request.collectBody(upTo: 64 << 20)
      var headers: [String: String] = [:]
      for field in request.headers { headers[field.name.canonicalName] = field.value }
      var received = Received(
        index: 0, method: request.method.rawValue, uri: request.uri.description, headers: headers,
        body: Array(buffer: body), arrived: Date())
      received.index = state.requests.withLock { list in
        list.append(received)
        return list.count - 1
      }
      state.inFlight.withLock {
        $0.now += 1
        $0.max = max($0.max, $0.now)
      }
      let decided = reply(received)
      if decided.stall > .zero { try? await Task.sleep(for: decided.stall) }
      state.inFlight.withLock { $0.now -= 1 }
      state.requests.withLock {
        $0[received.index].status = decided.status
        $0[received.index].answered = Date()
      }
      var fields = HTTPFields()
      fields[.contentType] = "application/json"
      for (name, value) in decided.headers { fields[HTTPField.Name(name)!] = value }
      return Response(
        status: .init(code: decided.status), headers: fields,
        body: .init(byteBuffer: ByteBuffer(string: decided.body)))
    }
    let app = Application(
      responder: responder,
      server: try tls.map { try .http2Upgrade(tlsConfiguration: $0) } ?? .http1(),
      configuration: .init(address: .hostname("127.0.0.1", port: port)),
      onServerRunning: { channel in
        portSink.yield(channel.localAddress?.port ?? 0)
        portSink.finish()
      },
      logger: {
        // Quiet: the server's shutdown at the end of each test is not news.
        var logger = Logger(label: "test-receiver")
        logger.logLevel = .critical
        return logger
      }())
    task = Task { try? await app.runService(gracefulShutdownSignals: []) }
    var iterator = ports.makeAsyncIterator()
    self.port = await iterator.next() ?? 0
  }

  deinit { task.cancel() }

  func stop() { task.cancel() }

  var url: String { "http://127.0.0.1:\(port)" }
  var received: [Received] { state.requests.withLock { $0 } }
  var maxConcurrent: Int { state.inFlight.withLock { $0.max } }

  /// Requests that were answered with a 2xx, grouped by Idempotency-Key.
  var deliveredByKey: [String: [Received]] {
    Dictionary(grouping: received.filter { (200..<300).contains($0.status) }) {
      $0.idempotencyKey ?? ""
    }
  }

  /// Waits until `condition` holds for the received requests, or the timeout passes.
  @discardableResult
  func wait(timeout: TimeInterval, until condition: ([Received]) -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if condition(received) { return true }
      Thread.sleep(forTimeInterval: 0.05)
    }
    return condition(received)
  }
}

extension HTTPReceiver {
  /// Starts a receiver from synchronous test code, whose blocking waits must not run on the
  /// cooperative pool the server's handlers need.
  static func start(
    port: Int = 0, tls: TLSConfiguration? = nil, reply: @escaping Decide = { _ in Reply() }
  ) throws -> HTTPReceiver {
    let box = ReceiverBox()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
      box.receiver = try? await HTTPReceiver(port: port, tls: tls, reply: reply)
      done.signal()
    }
    done.wait()
    guard let receiver = box.receiver, receiver.port > 0 else {
      throw WorkerError("the test receiver did not start")
    }
    return receiver
  }
}

private final class ReceiverBox: @unchecked Sendable {
  // Written once before the semaphore is signalled, read after.
  var receiver: HTTPReceiver?
}
