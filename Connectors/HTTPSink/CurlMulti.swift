import CCurl
import Foundation
import Synchronization

/// One HTTP request handed to ``CurlMulti``: its answer goes to `replies` under `tag`.
/// A class, so that queueing and handing it to a connection handle copies a reference.
final class CurlRequest: Sendable {
  let url: String
  let method: String
  /// `Name: value` lines.
  let headers: [String]
  let body: [UInt8]
  let tag: Int
  let replies: CurlReplies

  init(
    url: String, method: String, headers: [String], body: [UInt8], tag: Int, replies: CurlReplies
  ) {
    self.url = url
    self.method = method
    self.headers = headers
    self.body = body
    self.tag = tag
    self.replies = replies
  }
}

/// Where a caller's answers arrive: the client thread hands over every answer of one turn of
/// its loop in one call, so that a busy client wakes its caller once per turn, not per request.
final class CurlReplies: Sendable {
  let deliver: @Sendable ([(tag: Int, response: CurlResponse)]) -> Void

  init(_ deliver: @escaping @Sendable ([(tag: Int, response: CurlResponse)]) -> Void) {
    self.deliver = deliver
  }
}

/// What came back: a status, or a transport error (connection refused, timeout…) with status 0.
struct CurlResponse: Sendable {
  var status: Int
  var transportError: String?
  /// The server's `Retry-After`, in seconds, when it sent one.
  var retryAfterSeconds: Int? = nil
  /// The first ``CurlMulti/keptBodyBytes`` bytes of the response body.
  var body: [UInt8]
  var latency: Duration = .zero
  /// "1.1" or "2" (or "3"); empty without an answer.
  var httpVersion = ""
}

/// TLS settings shared by every request of a client.
struct CurlTLS: Sendable, Equatable {
  var caFile: String?
  var insecure = false
}

/// Settings that are the same for every request of a client, set once per connection handle.
struct CurlSettings: Sendable {
  var timeoutMs: Int
  var tls: CurlTLS
}

/// libcurl's multi interface on a thread of its own: requests from any task are queued, the
/// thread runs them concurrently over its connection cache (keep-alive, HTTP/2 multiplexing
/// when the server offers it over TLS) and calls each request's completion from that thread.
///
/// libcurl blocks in `curl_multi_poll`, so it never runs on the cooperative pool; a submit
/// wakes it with `curl_multi_wakeup`.
// @unchecked: the multi handle is used only by the client's thread, except for
// curl_multi_wakeup, which libcurl allows from any thread; the queue is behind a mutex.
final class CurlMulti: @unchecked Sendable {
  static let keptBodyBytes = 2048
  private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

  private struct Shared {
    var queue: [CurlRequest] = []
    var stopping = false
    /// The thread has let go of every transfer.
    var finished = false
    /// Callers of ``CurlMulti/close()`` waiting for that.
    var closers: [CheckedContinuation<Void, Never>] = []
  }

  private let shared = Mutex(Shared())
  private let multi: UnsafeMutableRawPointer
  private let settings: CurlSettings

  init(maxConnectionsPerHost: Int, settings: CurlSettings) {
    _ = Self.globalInit
    multi = curl_multi_init()!
    self.settings = settings
    _ = sluice_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
    _ = sluice_curl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
    _ = sluice_curl_multi_setopt_long(
      multi, CURLMOPT_MAXCONNECTS, max(maxConnectionsPerHost, 8))
    let thread = Thread { [self] in loop() }
    thread.name = "sluice-http"
    thread.start()
  }

  /// Queues requests; their answers are delivered from the client's thread.
  func submit(_ requests: [CurlRequest]) {
    guard !requests.isEmpty else { return }
    shared.withLock { $0.queue += requests }
    curl_multi_wakeup(multi)
  }

  deinit {
    // Here, not at the end of the thread: `close` may still wake the handle after the thread
    // has seen `stopping`, and no one can once the client is gone.
    curl_multi_cleanup(multi)
  }

  /// Stops the thread and returns once it has let go of every transfer; requests still
  /// running are abandoned without an answer. The caller awaits a continuation, so no thread
  /// of the cooperative pool blocks while curl finishes its turn.
  func close() async {
    shared.withLock { $0.stopping = true }
    curl_multi_wakeup(multi)
    await withCheckedContinuation { (closer: CheckedContinuation<Void, Never>) in
      let finished = shared.withLock { state in
        if !state.finished { state.closers.append(closer) }
        return state.finished
      }
      if finished { closer.resume() }
    }
  }

  // MARK: - The client thread

  private func loop() {
    var spare: [Transfer] = []
    var running: Int32 = 0
    var active: [UnsafeMutableRawPointer: Transfer] = [:]
    while true {
      let (queue, stopping) = shared.withLock { state in
        defer { state.queue.removeAll(keepingCapacity: true) }
        return (state.queue, state.stopping)
      }
      if stopping { break }
      for request in queue {
        let transfer = spare.popLast() ?? Transfer(settings)
        transfer.prepare(request)
        active[transfer.easy] = transfer
        curl_multi_add_handle(multi, transfer.easy)
      }
      curl_multi_perform(multi, &running)
      var answers: [ObjectIdentifier: (CurlReplies, [(tag: Int, response: CurlResponse)])] = [:]
      var left: Int32 = 0
      while let message = curl_multi_info_read(multi, &left) {
        guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
          let transfer = active.removeValue(forKey: easy), let request = transfer.request
        else { continue }
        let result = message.pointee.data.result
        curl_multi_remove_handle(multi, easy)
        let response = transfer.response(result: result)
        answers[ObjectIdentifier(request.replies), default: (request.replies, [])].1.append(
          (request.tag, response))
        transfer.reset()
        spare.append(transfer)
      }
      for (replies, list) in answers.values { replies.deliver(list) }
      curl_multi_poll(multi, nil, 0, 1000, nil)
    }
    for (easy, _) in active { curl_multi_remove_handle(multi, easy) }
    active.removeAll()
    spare.removeAll()
    let closers = shared.withLock { state in
      state.finished = true
      defer { state.closers = [] }
      return state.closers
    }
    for closer in closers { closer.resume() }
  }
}

/// One easy handle and the memory libcurl reads from while a request runs; reused across
/// requests so that its buffers and settings are not rebuilt each time.
private final class Transfer {
  let easy: UnsafeMutableRawPointer
  private(set) var request: CurlRequest?
  private var body: UnsafeMutableRawBufferPointer?
  private var headerList: UnsafeMutablePointer<curl_slist>?
  fileprivate var received: [UInt8] = []

  init(_ settings: CurlSettings) {
    easy = curl_easy_init()!
    _ = sluice_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
    _ = sluice_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
    _ = sluice_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, settings.timeoutMs)
    _ = sluice_curl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
    // Bodies are given whole (POSTFIELDS), so the default 64 KiB upload buffer per
    // connection is memory for nothing.
    _ = sluice_curl_easy_setopt_long(easy, CURLOPT_UPLOAD_BUFFERSIZE, 16 * 1024)
    // No proxy from the environment: libcurl would read http_proxy/no_proxy on every request.
    _ = "".withCString { sluice_curl_easy_setopt_pointer(easy, CURLOPT_PROXY, $0) }
    if let ca = settings.tls.caFile {
      _ = ca.withCString { sluice_curl_easy_setopt_pointer(easy, CURLOPT_CAINFO, $0) }
    }
    if settings.tls.insecure {
      _ = sluice_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0)
      _ = sluice_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0)
    }
    _ = sluice_curl_easy_setopt_pointer(
      easy, CURLOPT_WRITEDATA, Unmanaged.passUnretained(self).toOpaque())
    _ = sluice_curl_easy_setopt_write(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
      let bytes = size * count
      guard let data, let context else { return bytes }
      let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
      let room = CurlMulti.keptBodyBytes - transfer.received.count
      if room > 0 {
        data.withMemoryRebound(to: UInt8.self, capacity: bytes) {
          transfer.received.append(
            contentsOf: UnsafeBufferPointer(start: $0, count: min(room, bytes)))
        }
      }
      return bytes
    }
  }

  deinit {
    reset()
    curl_easy_cleanup(easy)
  }

  /// Sets what differs between requests; the rest was set once in `init`.
  func prepare(_ request: CurlRequest) {
    self.request = request
    received.removeAll(keepingCapacity: true)
    _ = request.url.withCString { sluice_curl_easy_setopt_pointer(easy, CURLOPT_URL, $0) }
    // The body is copied because libcurl reads it while the request runs, after the caller's
    // array may be gone; COPYPOSTFIELDS would copy it once more.
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: max(request.body.count, 1), alignment: 1)
    request.body.withUnsafeBytes { buffer.copyMemory(from: $0) }
    body = buffer
    _ = sluice_curl_easy_setopt_offset(
      easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
    _ = sluice_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, buffer.baseAddress)
    if request.method == "POST" {
      _ = sluice_curl_easy_setopt_pointer(easy, CURLOPT_CUSTOMREQUEST, nil)
    } else {
      _ = request.method.withCString {
        sluice_curl_easy_setopt_pointer(easy, CURLOPT_CUSTOMREQUEST, $0)
      }
    }
    // `Expect:` turns off curl's 100-continue wait for larger bodies, a needless round trip;
    // `Accept:` drops a header that says nothing.
    var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
    list = curl_slist_append(list, "Accept:")
    for header in request.headers { list = curl_slist_append(list, header) }
    headerList = list
    _ = sluice_curl_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, list)
  }

  func response(result: CURLcode) -> CurlResponse {
    // libcurl times every transfer already; asking it saves two clock reads per request.
    var micros: curl_off_t = 0
    _ = sluice_curl_easy_getinfo_offset(easy, CURLINFO_TOTAL_TIME_T, &micros)
    let latency = Duration.microseconds(micros)
    guard result == CURLE_OK else {
      let text = String(cString: curl_easy_strerror(result))
      return CurlResponse(
        status: 0, transportError: text, retryAfterSeconds: nil, body: [], latency: latency)
    }
    var status = 0
    _ = sluice_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
    var retryAfter: curl_off_t = 0
    _ = sluice_curl_easy_getinfo_offset(easy, CURLINFO_RETRY_AFTER, &retryAfter)
    var version = 0
    _ = sluice_curl_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
    let versions = [
      Int(CURL_HTTP_VERSION_1_0): "1.0", Int(CURL_HTTP_VERSION_1_1): "1.1",
      Int(CURL_HTTP_VERSION_2_0): "2", Int(CURL_HTTP_VERSION_3): "3",
    ]
    return CurlResponse(
      status: status, transportError: nil,
      retryAfterSeconds: retryAfter > 0 ? Int(retryAfter) : nil, body: received, latency: latency,
      httpVersion: versions[version] ?? "")
  }

  func reset() {
    request = nil
    body?.deallocate()
    body = nil
    if let headerList { curl_slist_free_all(headerList) }
    headerList = nil
  }
}
