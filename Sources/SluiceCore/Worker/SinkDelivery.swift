/// The decisions of delivering records to a sink task (DESIGN.md §6), apart from the I/O: a
/// record the sink refuses (``SinkRecordError``) is retried `policy.retries` times, then
/// dead-lettered (`tolerance: all`) or fatal; any other failure (the target is down) is retried
/// for as long as it lasts, with capped backoff, and reported once per distinct error.
///
/// ``SinkTaskRunner`` owns one per batch it delivers and does what each decision says.
struct SinkDelivery {
  /// What to do after a failure.
  enum Decision: Equatable {
    /// Try the refused record again after `delay`.
    case retryRecord(after: Duration)
    /// Give up on the refused record: write it to the dead-letter topic, go on with the rest.
    case deadLetter(attempts: Int)
    /// Give up on the task (`tolerance: none`).
    case fail(attempts: Int)
    /// Try the batch again after `delay`; `report` when this error is new (log it, show it
    /// in the task's status), not for each retry of the same one.
    case retryBatch(after: Duration, report: Bool)
    /// Stop: the worker is shutting down, and the next run delivers the batch.
    case stop
  }

  let policy: SinkErrorPolicy
  private var connectionBackoff: Backoff
  private var recordBackoff: Backoff
  /// The refused record being retried and how often it was tried.
  private var poison: (record: Record, attempts: Int)?
  /// The last failure reported, while deliveries fail.
  private(set) var failing: String?

  init(policy: SinkErrorPolicy) {
    self.policy = policy
    connectionBackoff = Backoff(initial: policy.initialBackoff, maximum: policy.maximumBackoff)
    recordBackoff = connectionBackoff
  }

  /// The sink refused `record` (its first record not applied).
  mutating func refused(_ record: Record) -> Decision {
    let attempts = (poison?.record == record ? poison!.attempts : 0) + 1
    poison = (record, attempts)
    if attempts <= policy.retries { return .retryRecord(after: recordBackoff.next()) }
    guard policy.tolerateAll else { return .fail(attempts: attempts) }
    poison = nil
    recordBackoff.reset()
    return .deadLetter(attempts: attempts)
  }

  /// A delivery failed for a reason other than a record (`message`).
  mutating func failed(_ message: String, shuttingDown: Bool) -> Decision {
    let report = failing != message
    failing = message
    if shuttingDown { return .stop }
    return .retryBatch(after: connectionBackoff.next(), report: report)
  }

  /// The batch was delivered; true when deliveries had been failing (the sink recovered).
  mutating func delivered() -> Bool {
    defer { failing = nil }
    return failing != nil
  }
}
