import Foundation
import Hummingbird
import NIOCore
import SluiceCore
import Synchronization

/// Serves one webhook endpoint: each accepted request becomes one durable record, and the 2xx
/// answer is sent only after the record is durable (DESIGN.md §3). Bad requests get a 4xx with a
/// JSON reason and write nothing.
final class WebhookSourceTask: SourceTask {
  let config: WebhookConfig
  let context: any SourceTaskContext
  private let dedupe: DedupeIndex
  private let pending = Atomic<Int>(0)
  /// False until the dedupe index holds every key already written: no request is taken before.
  private let ready = Atomic<Bool>(false)
  private let metrics: RequestMetrics

  init(config: WebhookConfig, context: any SourceTaskContext) {
    self.config = config
    self.context = context
    self.metrics = RequestMetrics(prefix: "sluice_webhook", connector: config.name)
    self.dedupe = DedupeIndex(window: config.dedupeWindow, maxBytes: config.dedupeMaxBytes)
  }

  func run() async throws {
    defer { metrics.release() }
    // The path is served from the start: while the dedupe index is rebuilt, requests get a 503
    // with Retry-After (webhook senders retry those), not a 404 from a listener another
    // connector shares.
    try await WebhookListeners.shared.register(
      host: config.host, port: config.port, http2: config.http2, path: config.path,
      logger: context.logger
    ) { [self] request, _ in await handle(request) }
    context.setDetail("endpoint", "http://\(config.host):\(config.port)\(config.path)")
    defer {
      Task { [config] in
        await WebhookListeners.shared.unregister(
          host: config.host, port: config.port, path: config.path)
      }
    }
    if config.dedupeHeader != nil {
      let written = try await context.recentlyWritten(
        maxAge: dedupe.window, maxCount: nil)
      await dedupe.rebuild(from: written.records, nowMs: currentTimeMillis())
      for problem in written.unreadable {
        context.logger.warning("dedupe rebuild skipped a partition it cannot read: \(problem)")
      }
      context.setDetail("dedupe_keys", "\(await dedupe.count)")
    }
    ready.store(true, ordering: .releasing)
    do {
      while !Task.isCancelled {
        try await Task.sleep(for: .seconds(60))
        await dedupe.expire(nowMs: currentTimeMillis())
        context.setDetail("dedupe_keys", "\(await dedupe.count)")
        context.setDetail("dedupe_evicted", "\(await dedupe.evicted)")
      }
    } catch is CancellationError {}
    // Stopping: no new request reaches this task; the ones it holds are answered before it
    // returns (the listener may be shared, so its own drain does not cover them).
    await WebhookListeners.shared.unregister(
      host: config.host, port: config.port, path: config.path)
    await drainPendingWrites()
  }

  /// Waits, up to the listeners' drain timeout, until no accepted request is still writing.
  /// The task is cancelled by now, so the waits are on a task of their own.
  private func drainPendingWrites() async {
    let deadline = ContinuousClock.now + WebhookListeners.drainTimeout
    while pending.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
      await Task.detached { try? await Task.sleep(for: .milliseconds(10)) }.value
    }
  }

  // MARK: - Requests

  /// Answers a request, and counts the answer.
  func handle(_ request: Request) async -> Response {
    let started = ContinuousClock.now
    let response = await respond(to: request)
    metrics.answered(String(response.status.code), after: ContinuousClock.now - started)
    return response
  }

  private func respond(to request: Request) async -> Response {
    guard ready.load(ordering: .acquiring) else {
      return WebhookResponse.error(
        .serviceUnavailable, "the webhook is starting (rebuilding its dedupe index); retry shortly",
        headers: [.retryAfter: "1"])
    }
    guard config.methods.contains(request.method.rawValue) else {
      return WebhookResponse.error(
        .methodNotAllowed,
        "\(request.method) is not accepted here; use \(config.methods.sorted().joined(separator: " or "))",
        headers: [.allow: config.methods.sorted().joined(separator: ", ")])
    }
    if config.content == .json {
      let type = request.headers[.contentType]?.lowercased() ?? ""
      guard
        type.hasPrefix("application/json")
          || (type.hasPrefix("application/") && type.contains("+json"))
      else {
        return WebhookResponse.error(
          .unsupportedMediaType, "expected Content-Type application/json, got '\(type)'")
      }
    }
    if let length = request.headers[.contentLength].flatMap(Int.init), length > config.maxBody {
      return WebhookResponse.error(
        .contentTooLarge,
        "body of \(length) bytes is larger than max_body (\(config.maxBody) bytes)")
    }
    var request = request
    let body: [UInt8]
    do {
      let buffer = try await request.collectBody(upTo: config.maxBody)
      body = Array(buffer.readableBytesView)
    } catch let error as HTTPError where error.status == .contentTooLarge {
      return WebhookResponse.error(
        .contentTooLarge, "body is larger than max_body (\(config.maxBody) bytes)")
    } catch {
      // A malformed body (an invalid chunk size, a cut-off upload) is the client's fault.
      return WebhookResponse.error(.badRequest, "the request body cannot be read: \(error)")
    }
    let fields = request.headers
    let headers: @Sendable (String) -> String? = { name in
      let wanted = name.lowercased()
      return fields.first { $0.name.canonicalName == wanted }?.value
    }
    if let problem = config.signature.problem(
      headers: headers, body: body, nowSeconds: currentTimeMillis() / 1000)
    {
      return WebhookResponse.error(.unauthorized, problem)
    }
    var document: JSONValue?
    if config.content == .json {
      if let offset = JSONValidator.errorOffset(body) {
        return WebhookResponse.error(.badRequest, "body is not valid JSON: error at byte \(offset)")
      }
      if needsDocument {
        document = JSONValue.parse(body)
      }
    }

    // Key and topic.
    var key: [UInt8]?
    switch config.key {
    case .none: key = nil
    case .header(let name):
      key = headers(name).map { Array($0.utf8) }
    case .jsonPointer(let pointer):
      key = JSONPointer.text(pointer, in: document).map { Array($0.utf8) }
    }
    let topic: String
    do {
      topic = try config.topic.render { placeholder in
        if placeholder.hasPrefix("header:") { return headers(String(placeholder.dropFirst(7))) }
        if placeholder.hasPrefix("json:") {
          return JSONPointer.text(String(placeholder.dropFirst(5)), in: document)
        }
        return nil
      }
    } catch {
      return WebhookResponse.error(.badRequest, "\(error)")
    }
    if let allowed = config.allowedTopics, !allowed.matches(topic) {
      return WebhookResponse.error(
        .forbidden, "topic '\(topic)' does not match allowed_topics of this webhook")
    }

    // Record headers: the allow-list, content type, path, receive time, idempotency key.
    let receivedMs = currentTimeMillis()
    var recordHeaders = [RecordHeader(SourceHeaders.connector, config.name)]
    for name in config.headerAllowList {
      if let value = headers(name) { recordHeaders.append(RecordHeader(name.lowercased(), value)) }
    }
    if let type = request.headers[.contentType] {
      recordHeaders.append(RecordHeader("content-type", type))
    }
    recordHeaders.append(RecordHeader("webhook.path", request.uri.path))
    recordHeaders.append(RecordHeader("webhook.received_ms", "\(receivedMs)"))
    let idempotencyKey = config.dedupeHeader.flatMap(headers)
    if let idempotencyKey, idempotencyKey.utf8.count > config.dedupeMaxKeyBytes {
      return WebhookResponse.error(
        .badRequest,
        "\(config.dedupeHeader ?? "") is \(idempotencyKey.utf8.count) bytes; at most \(config.dedupeMaxKeyBytes) are accepted (dedupe.max_key_bytes)"
      )
    }
    if let idempotencyKey { recordHeaders.append(RecordHeader(DedupeIndex.header, idempotencyKey)) }
    let record = SourceRecord(
      topic: topic, key: key, value: body, headers: recordHeaders, timestamp: receivedMs,
      position: nil)

    // Bounded queue: past max_pending writes in flight, ask the client to come back.
    guard pending.wrappingAdd(1, ordering: .relaxed).newValue <= config.maxPending else {
      pending.wrappingSubtract(1, ordering: .relaxed)
      return WebhookResponse.error(
        .tooManyRequests, "too many requests in flight; retry shortly", headers: [.retryAfter: "1"])
    }
    defer { pending.wrappingSubtract(1, ordering: .relaxed) }
    do {
      let write: @Sendable () async throws -> Placement = { [context] in
        let placed = try await context.send([record])[0]
        return Placement(topic: placed.topic, partition: placed.partition, offset: placed.offset)
      }
      if let idempotencyKey {
        let (placement, replayed) = try await dedupe.placement(
          for: idempotencyKey, nowMs: receivedMs, write: write)
        return WebhookResponse.json(
          placement.json, headers: replayed ? [.init("Idempotent-Replayed")!: "true"] : [:])
      }
      return WebhookResponse.json(try await write().json)
    } catch let error as TopicStoreError {
      switch error {
      case .invalidTopicName, .invalidRecord: return WebhookResponse.error(.badRequest, "\(error)")
      case .recordTooLarge: return WebhookResponse.error(.contentTooLarge, "\(error)")
      case .topicNotAllowed: return WebhookResponse.error(.forbidden, "\(error)")
      default:
        return WebhookResponse.error(.serviceUnavailable, "\(error)", headers: [.retryAfter: "1"])
      }
    } catch {
      return WebhookResponse.error(.serviceUnavailable, "\(error)", headers: [.retryAfter: "1"])
    }
  }

  private var needsDocument: Bool {
    if case .jsonPointer = config.key { return true }
    return config.topic.placeholders.contains { $0.hasPrefix("json:") }
  }
}

/// A validated `source: webhook` connector.
///
/// Offsets (KIP-875): it commits no source position — callers push, and retry until answered;
/// duplicates are caught by idempotency key — so `GET …/offsets` is empty, and a PATCH in the
/// default shape is stored but read by nothing.
struct WebhookSourceConnector: SourceConnector {
  let config: WebhookConfig

  init(definition: ConnectorDefinition) throws {
    config = try WebhookConfig(definition: definition)
  }

  /// One: an endpoint has one handler; more tasks would compete for the same path.
  func taskCount(maxTasks: Int) -> Int { 1 }

  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
    WebhookSourceTask(config: config, context: context)
  }
}

/// Registers `source: webhook`.
public enum WebhookConnectors {
  public static func register(in registry: inout ConnectorRegistry) {
    registry.register(
      .source(
        "webhook", definitions: WebhookConfig.definitions,
        converters: [ConnectCommonKeys.jsonConverter, ConnectCommonKeys.stringConverter]
      ) { try WebhookSourceConnector(definition: $0) })
  }
}
