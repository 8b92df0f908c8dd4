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
  /// The server's `Retry-After` (a number of seconds on the wire), when it sent one.
  var retryAfter: Duration? = nil
  /// The first ``CurlMulti/keptBodyBytes`` bytes of the response body.
  var body: [UInt8]
  var latency: Duration = .zero
  /// "1.1" or "2" (or "3"); empty without an answer.
  var httpVersion = ""

  /// No answer because a libcurl call failed: its message is the transport error.
  static func failed(_ error: CurlError) -> CurlResponse {
    CurlResponse(status: 0, transportError: error.description, body: [])
  }
}

/// TLS settings shared by every request of a client.
struct CurlTLS: Sendable, Equatable {
  var caFile: String?
  var insecure = false
}

/// Settings that are the same for every request of a client, set once per connection handle.
struct CurlSettings: Sendable {
  var timeout: Duration
  var tls: CurlTLS
}

/// A libcurl call that failed: the call, and curl's own message for the code it returned.
struct CurlError: Error, Sendable, CustomStringConvertible {
  var call: String
  var message: String

  var description: String { "\(call): \(message)" }

  /// Throws unless an easy-interface call (`curl_easy_*`, `curl_global_init`) returned
  /// `CURLE_OK`.
  static func check(_ code: CURLcode, _ call: @autoclosure () -> String) throws(CurlError) {
    guard code != CURLE_OK else { return }
    throw CurlError(call: call(), message: String(cString: curl_easy_strerror(code)))
  }

  /// Throws unless a multi-interface call (`curl_multi_*`) returned `CURLM_OK`.
  static func check(_ code: CURLMcode, _ call: @autoclosure () -> String) throws(CurlError) {
    guard code != CURLM_OK else { return }
    throw CurlError(call: call(), message: String(cString: curl_multi_strerror(code)))
  }
}

/// libcurl's multi interface on a thread of its own: requests from any task are queued, the
/// thread runs them concurrently over its connection cache (keep-alive, HTTP/2 multiplexing
/// when the server offers it over TLS) and calls each request's completion from that thread.
///
/// libcurl blocks in `curl_multi_poll`, so it never runs on the cooperative pool; a submit
/// wakes it with `curl_multi_wakeup`. Every libcurl return code is checked: a failure while
/// setting up throws a ``CurlError``; one while a request runs answers that request (or every
/// running request, when the multi handle itself failed) with the error as its transport
/// error, so the sink retries it like a refused connection.
// @unchecked: the multi handle is used only by the client's thread, except for
// curl_multi_wakeup, which libcurl allows from any thread; the queue is behind a mutex.
final class CurlMulti: @unchecked Sendable {
  static let keptBodyBytes = 2048
  private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

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

  init(maxConnectionsPerHost: Int, settings: CurlSettings) throws(CurlError) {
    try CurlError.check(Self.globalInit, "curl_global_init")
    guard let multi = curl_multi_init() else {
      throw CurlError(call: "curl_multi_init", message: "no multi handle (out of memory)")
    }
    self.multi = multi
    self.settings = settings
    func set(_ option: CURLMoption, _ name: String, _ value: Int) throws(CurlError) {
      try CurlError.check(
        sluice_curl_multi_setopt_long(multi, option, value), "curl_multi_setopt(\(name))")
    }
    try set(CURLMOPT_MAX_HOST_CONNECTIONS, "CURLMOPT_MAX_HOST_CONNECTIONS", maxConnectionsPerHost)
    try set(CURLMOPT_PIPELINING, "CURLMOPT_PIPELINING", Int(CURLPIPE_MULTIPLEX))
    try set(CURLMOPT_MAXCONNECTS, "CURLMOPT_MAXCONNECTS", max(maxConnectionsPerHost, 8))
    let thread = Thread { [self] in loop() }
    thread.name = "sluice-http"
    thread.start()
  }

  /// Queues requests; their answers are delivered from the client's thread.
  func submit(_ requests: [CurlRequest]) {
    guard !requests.isEmpty else { return }
    shared.withLock { $0.queue += requests }
    // A wake-up that fails costs at most the thread's poll timeout (1 s).
    _ = curl_multi_wakeup(multi)
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
    _ = curl_multi_wakeup(multi)
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
      var answers: [ObjectIdentifier: (CurlReplies, [(tag: Int, response: CurlResponse)])] = [:]
      func answer(_ request: CurlRequest, _ response: CurlResponse) {
        answers[ObjectIdentifier(request.replies), default: (request.replies, [])].1.append(
          (request.tag, response))
      }
      /// Answers every running request with `error` and lets go of its transfer.
      func failRunning(_ error: CurlError) {
        for (easy, transfer) in active {
          if let request = transfer.request { answer(request, .failed(error)) }
          // The transfer is not reused: after a failed multi call its state is unknown.
          _ = curl_multi_remove_handle(multi, easy)
        }
        active.removeAll()
      }
      for request in queue {
        let transfer: Transfer
        do throws(CurlError) {
          if let reused = spare.popLast() {
            transfer = reused
          } else {
            transfer = try Transfer(settings)
          }
        } catch {
          answer(request, .failed(error))
          continue
        }
        do throws(CurlError) {
          try transfer.prepare(request)
          try CurlError.check(curl_multi_add_handle(multi, transfer.easy), "curl_multi_add_handle")
          active[transfer.easy] = transfer
        } catch {
          answer(request, .failed(error))
          transfer.reset()
          spare.append(transfer)
        }
      }
      do throws(CurlError) {
        try CurlError.check(curl_multi_perform(multi, &running), "curl_multi_perform")
      } catch {
        failRunning(error)
      }
      var left: Int32 = 0
      while let message = curl_multi_info_read(multi, &left) {
        guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
          let transfer = active.removeValue(forKey: easy), let request = transfer.request
        else { continue }
        let result = message.pointee.data.result
        // A handle the multi handle would not let go of is not reused.
        let removed = curl_multi_remove_handle(multi, easy) == CURLM_OK
        answer(request, transfer.response(result: result))
        transfer.reset()
        if removed { spare.append(transfer) }
      }
      for (replies, list) in answers.values { replies.deliver(list) }
      answers.removeAll()
      do throws(CurlError) {
        try CurlError.check(curl_multi_poll(multi, nil, 0, 1000, nil), "curl_multi_poll")
      } catch {
        failRunning(error)
        for (replies, list) in answers.values { replies.deliver(list) }
        // Without a poll to wait in, wait here rather than spin.
        Thread.sleep(forTimeInterval: 0.1)
      }
    }
    // Stopping: the running transfers are abandoned (``close()``), whatever curl answers.
    for (easy, _) in active { _ = curl_multi_remove_handle(multi, easy) }
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

  init(_ settings: CurlSettings) throws(CurlError) {
    guard let easy = curl_easy_init() else {
      throw CurlError(call: "curl_easy_init", message: "no easy handle (out of memory)")
    }
    self.easy = easy
    try set(CURLOPT_NOSIGNAL, "CURLOPT_NOSIGNAL", 1)
    try set(CURLOPT_TCP_KEEPALIVE, "CURLOPT_TCP_KEEPALIVE", 1)
    try set(CURLOPT_TIMEOUT_MS, "CURLOPT_TIMEOUT_MS", Int(settings.timeout.inMilliseconds))
    try set(CURLOPT_HTTP_VERSION, "CURLOPT_HTTP_VERSION", Int(CURL_HTTP_VERSION_2TLS))
    // Bodies are given whole (POSTFIELDS), so the default 64 KiB upload buffer per
    // connection is memory for nothing.
    try set(CURLOPT_UPLOAD_BUFFERSIZE, "CURLOPT_UPLOAD_BUFFERSIZE", 16 * 1024)
    // No proxy from the environment: libcurl would read http_proxy/no_proxy on every request.
    try set(CURLOPT_PROXY, "CURLOPT_PROXY", text: "")
    if let ca = settings.tls.caFile { try set(CURLOPT_CAINFO, "CURLOPT_CAINFO", text: ca) }
    if settings.tls.insecure {
      try set(CURLOPT_SSL_VERIFYPEER, "CURLOPT_SSL_VERIFYPEER", 0)
      try set(CURLOPT_SSL_VERIFYHOST, "CURLOPT_SSL_VERIFYHOST", 0)
    }
    try set(
      CURLOPT_WRITEDATA, "CURLOPT_WRITEDATA", pointer: Unmanaged.passUnretained(self).toOpaque())
    let written = sluice_curl_easy_setopt_write(easy, CURLOPT_WRITEFUNCTION) {
      data, size, count, context in
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
    try CurlError.check(written, "curl_easy_setopt(CURLOPT_WRITEFUNCTION)")
  }

  deinit {
    reset()
    curl_easy_cleanup(easy)
  }

  // MARK: - Options and information, each call checked

  private func set(_ option: CURLoption, _ name: String, _ value: Int) throws(CurlError) {
    try CurlError.check(
      sluice_curl_easy_setopt_long(easy, option, value), "curl_easy_setopt(\(name))")
  }

  /// A string option: libcurl copies it before the call returns.
  private func set(_ option: CURLoption, _ name: String, text: String) throws(CurlError) {
    let code = text.withCString { sluice_curl_easy_setopt_pointer(easy, option, $0) }
    try CurlError.check(code, "curl_easy_setopt(\(name))")
  }

  private func set(_ option: CURLoption, _ name: String, pointer: UnsafeRawPointer?)
    throws(CurlError)
  {
    try CurlError.check(
      sluice_curl_easy_setopt_pointer(easy, option, pointer), "curl_easy_setopt(\(name))")
  }

  private func set(_ option: CURLoption, _ name: String, offset: curl_off_t) throws(CurlError) {
    try CurlError.check(
      sluice_curl_easy_setopt_offset(easy, option, offset), "curl_easy_setopt(\(name))")
  }

  private func info(_ item: CURLINFO, _ name: String) throws(CurlError) -> Int {
    var value = 0
    try CurlError.check(
      sluice_curl_easy_getinfo_long(easy, item, &value), "curl_easy_getinfo(\(name))")
    return value
  }

  private func info(offset item: CURLINFO, _ name: String) throws(CurlError) -> curl_off_t {
    var value: curl_off_t = 0
    try CurlError.check(
      sluice_curl_easy_getinfo_offset(easy, item, &value), "curl_easy_getinfo(\(name))")
    return value
  }

  // MARK: - One request

  /// Sets what differs between requests; the rest was set once in `init`.
  func prepare(_ request: CurlRequest) throws(CurlError) {
    self.request = request
    received.removeAll(keepingCapacity: true)
    try set(CURLOPT_URL, "CURLOPT_URL", text: request.url)
    // The body is copied because libcurl reads it while the request runs, after the caller's
    // array may be gone; COPYPOSTFIELDS would copy it once more.
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: max(request.body.count, 1), alignment: 1)
    request.body.withUnsafeBytes { buffer.copyMemory(from: $0) }
    body = buffer
    try set(
      CURLOPT_POSTFIELDSIZE_LARGE, "CURLOPT_POSTFIELDSIZE_LARGE",
      offset: curl_off_t(request.body.count))
    try set(CURLOPT_POSTFIELDS, "CURLOPT_POSTFIELDS", pointer: buffer.baseAddress)
    if request.method == "POST" {
      try set(CURLOPT_CUSTOMREQUEST, "CURLOPT_CUSTOMREQUEST", pointer: nil)
    } else {
      try set(CURLOPT_CUSTOMREQUEST, "CURLOPT_CUSTOMREQUEST", text: request.method)
    }
    // `Expect:` turns off curl's 100-continue wait for larger bodies, a needless round trip;
    // `Accept:` drops a header that says nothing. The list is kept as it grows, so that
    // ``reset()`` frees it whatever fails.
    for header in ["Expect:", "Accept:"] + request.headers {
      guard let list = curl_slist_append(headerList, header) else {
        throw CurlError(call: "curl_slist_append", message: "no memory for a header")
      }
      headerList = list
    }
    try set(CURLOPT_HTTPHEADER, "CURLOPT_HTTPHEADER", pointer: headerList)
  }

  /// The answer to the request that just finished with `result`: its status, or curl's
  /// message for what failed (the transfer, or reading what it received).
  func response(result: CURLcode) -> CurlResponse {
    do throws(CurlError) {
      // libcurl times every transfer already; asking it saves two clock reads per request.
      let latency = Duration.microseconds(try info(offset: CURLINFO_TOTAL_TIME_T, "TOTAL_TIME_T"))
      guard result == CURLE_OK else {
        let text = String(cString: curl_easy_strerror(result))
        return CurlResponse(
          status: 0, transportError: text, retryAfter: nil, body: [], latency: latency)
      }
      let status = try info(CURLINFO_RESPONSE_CODE, "RESPONSE_CODE")
      let retryAfter = try info(offset: CURLINFO_RETRY_AFTER, "RETRY_AFTER")
      let version = try info(CURLINFO_HTTP_VERSION, "HTTP_VERSION")
      let versions = [
        Int(CURL_HTTP_VERSION_1_0): "1.0", Int(CURL_HTTP_VERSION_1_1): "1.1",
        Int(CURL_HTTP_VERSION_2_0): "2", Int(CURL_HTTP_VERSION_3): "3",
      ]
      return CurlResponse(
        status: status, transportError: nil,
        retryAfter: retryAfter > 0 ? .seconds(retryAfter) : nil, body: received,
        latency: latency, httpVersion: versions[version] ?? "")
    } catch {
      return .failed(error)
    }
  }

  func reset() {
    request = nil
    body?.deallocate()
    body = nil
    if let headerList { curl_slist_free_all(headerList) }
    headerList = nil
  }
}
