import Logging
import SluiceCore
import Synchronization

/// Delivers topic records to a REST endpoint: each `put` becomes requests (one per record or
/// batches), run up to `max_in_flight` at once without reordering a key, each retried on
/// connection errors, timeouts, 408, 429 and 5xx with capped, jittered backoff that honours
/// `Retry-After`. `put` returns when every request got a 2xx or its records were dead-lettered,
/// so the worker commits offsets only past delivered records (at-least-once; the
/// `Idempotency-Key` makes it exactly-once for receivers that honour it).
final class HTTPSinkTask: SinkTask {
  private enum Event: Sendable {
    case answered([(tag: Int, response: CurlResponse)])
    case retryDue(Int)
  }

  let config: HTTPSinkConfig
  let context: any SinkTaskContext
  private let client: CurlMulti
  private let planner: DeliveryPlanner
  private let metrics = Mutex(HTTPSinkMetrics())
  private let exported: RequestMetrics

  init(config: HTTPSinkConfig, context: any SinkTaskContext) throws {
    self.config = config
    self.context = context
    planner = DeliveryPlanner(config: config)
    exported = RequestMetrics(prefix: "sluice_http_sink", connector: config.name)
    client = try CurlMulti(
      maxConnectionsPerHost: config.maxInFlight,
      settings: CurlSettings(timeout: config.timeout, tls: config.tls))
  }

  func put(_ records: [Record]) async throws {
    let deliveries = planner.plan(records)
    var scheduler = DeliveryScheduler(
      keys: deliveries.map(\.orderKeys), maxInFlight: config.maxInFlight)
    var attempts = [Int](repeating: 0, count: deliveries.count)
    let (events, sink) = AsyncStream.makeStream(of: Event.self)
    let replies = CurlReplies { sink.yield(.answered($0)) }
    var pendingRetries: [Task<Void, Never>] = []
    defer { for retry in pendingRetries { retry.cancel() } }

    func send(_ indices: [Int]) {
      var requests: [CurlRequest] = []
      requests.reserveCapacity(indices.count)
      var unbuildable: [(tag: Int, response: CurlResponse)] = []
      for i in indices {
        attempts[i] += 1
        let delivery = deliveries[i]
        if let problem = delivery.problem {
          unbuildable.append((i, CurlResponse(status: 0, transportError: problem, body: [])))
        } else {
          requests.append(
            CurlRequest(
              url: delivery.url, method: config.method, headers: delivery.headers,
              body: delivery.body, tag: i, replies: replies))
        }
      }
      client.submit(requests)
      if !unbuildable.isEmpty { sink.yield(.answered(unbuildable)) }
    }

    try await withTaskCancellationHandler {
      var iterator = events.makeAsyncIterator()
      send(scheduler.startable())
      metrics.withLock { $0.inFlight = scheduler.running }
      while !scheduler.finished {
        guard let event = await iterator.next() else { throw CancellationError() }
        switch event {
        case .retryDue(let i):
          scheduler.retryStarted(i)
          send([i])
        case .answered(let answers):
          for (i, response) in answers {
            try await handle(
              response, of: deliveries[i], index: i, attempt: attempts[i], scheduler: &scheduler,
              retries: &pendingRetries, sink: sink)
          }
        }
        send(scheduler.startable())
        let running = scheduler.running
        if let details = metrics.withLock({
          $0.inFlight = running
          return $0.detailsIfDue()
        }) {
          publish(details)
        }
      }
    } onCancel: {
      sink.finish()
    }
    // Once per batch as well, so the status is current when the topic goes quiet.
    publish(metrics.withLock { $0.details() })
  }

  /// Marks a request delivered, schedules its retry, or gives up on it.
  private func handle(
    _ response: CurlResponse, of delivery: Delivery, index i: Int, attempt: Int,
    scheduler: inout DeliveryScheduler, retries: inout [Task<Void, Never>],
    sink: AsyncStream<Event>.Continuation
  ) async throws {
    let outcome = HTTPOutcome(response, unbuildable: delivery.problem != nil)
    metrics.withLock { $0.answered(response, outcome: outcome) }
    // A request that could not be built was never sent: not a request to count.
    if delivery.problem == nil {
      // Each attempt's answer: its HTTP status, or `error` when none came (refused, timed out).
      exported.answered(
        response.transportError == nil ? String(response.status) : "error", after: response.latency)
    }
    switch outcome {
    case .delivered:
      scheduler.completed(i)
    case .retry where config.retry.maxAttempts == 0 || attempt < config.retry.maxAttempts:
      scheduler.willRetry(i)
      let delay = RetryDelay.after(
        attempt: attempt, retry: config.retry, retryAfter: response.retryAfter)
      retries.append(
        Task {
          try? await Task.sleep(for: delay)
          sink.yield(.retryDue(i))
        })
    case .retry, .rejected:
      try await undeliverable(delivery, response: response, attempts: attempt)
      scheduler.completed(i)
    }
  }

  /// A request that got a final answer other than 2xx, or ran out of attempts: its records go
  /// to the dead-letter topic with the status and the start of the response body, or the task
  /// fails (`errors.tolerance: none`).
  private func undeliverable(_ delivery: Delivery, response: CurlResponse, attempts: Int)
    async throws
  {
    let body = String(decoding: response.body.prefix(1024), as: UTF8.self)
    let reason: String
    if let problem = delivery.problem {
      reason = "cannot build the request: \(problem)"
    } else if let error = response.transportError {
      reason = "no answer after \(attempts) attempts: \(error)"
    } else if HTTPOutcome(response, unbuildable: false) == .retry {
      reason = "HTTP \(response.status) after \(attempts) attempts: \(body)"
    } else {
      reason = "HTTP \(response.status): \(body)"
    }
    let first = delivery.records[0]
    guard context.toleratesErrors else {
      throw SinkTaskFailure(
        description:
          "\(first.topicPartition)@\(first.offset) (\(delivery.records.count) record(s)) cannot be delivered: \(reason); errors.tolerance is none"
      )
    }
    let headers = [
      RecordHeader("sluice.http.status", String(response.status)),
      RecordHeader("sluice.http.response", body),
      RecordHeader("sluice.http.url", delivery.url),
    ]
    for record in delivery.records {
      try await context.deadLetter(record, reason: reason, attempts: attempts, headers: headers)
    }
    metrics.withLock { $0.deadLettered += delivery.records.count }
  }

  private func publish(_ details: [(String, String)]) {
    for (name, value) in details { context.setDetail(name, value) }
  }

  func close() async {
    await client.close()
    exported.release()
    publish(metrics.withLock { $0.details() })
  }
}

/// What an answer means for its request.
enum HTTPOutcome: Equatable {
  case delivered
  /// Connection errors, timeouts, 408, 429 and 5xx: the receiver may take it later.
  case retry
  /// Any other status: sending it again would get the same answer.
  case rejected

  init(_ response: CurlResponse, unbuildable: Bool) {
    if unbuildable {
      self = .rejected
    } else if response.transportError != nil {
      self = .retry
    } else {
      switch response.status {
      case 200..<300: self = .delivered
      case 408, 429, 500..<600: self = .retry
      default: self = .rejected
      }
    }
  }
}

/// The wait before another attempt: ``Backoff`` from `backoff_ms` up to `max_backoff_ms` with
/// half-to-full jitter (``Backoff/Jitter/upToFull``), so that requests failing together do not
/// retry together; never shorter than the receiver's `Retry-After` (read up to an hour).
enum RetryDelay {
  static func after(attempt: Int, retry: HTTPSinkConfig.Retry, retryAfter: Duration?)
    -> Duration
  {
    let backoff = Backoff(
      initial: retry.backoff, maximum: retry.maxBackoff,
      jitter: .upToFull)
    let delay = backoff.delay(beforeRetry: attempt - 1)
    guard let retryAfter else { return delay }
    return max(delay, min(retryAfter, .seconds(3600)))
  }
}
