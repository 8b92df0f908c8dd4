/// When the replication thread tells PostgreSQL how far it may forget WAL (a standby status
/// update), as a value (STYLE.md §1): ``ReplicationStream`` asks it after every read and
/// sends what it returns.
///
/// An update goes out when the durable LSN moved, when the server asked for a reply in a
/// keepalive, when a heartbeat wants the slot's position to catch up, or when an interval
/// passed — PostgreSQL drops a walsender that is silent for `wal_sender_timeout`.
struct StandbyFeedback {
  /// PostgreSQL drops a walsender that is silent for `wal_sender_timeout` (60 s by default).
  static let interval: Duration = .seconds(10)
  /// While the task takes no chunks (paused, or topics slow), the thread does not read the
  /// server's keepalives and so cannot see one that asks for a reply: it reports every second
  /// instead, which keeps a walsender with a `wal_sender_timeout` down to 2 s.
  static let waitingInterval: Duration = .seconds(1)

  /// The LSN last reported.
  private(set) var reported = LSN.zero
  private var lastSent: ContinuousClock.Instant?
  /// A keepalive asked for a reply that has not been sent yet.
  private var replyOwed = false

  /// A keepalive read from the server; `replyRequested` when it asks for an answer.
  mutating func keepalive(replyRequested: Bool) {
    if replyRequested { replyOwed = true }
  }

  /// The update to send now, if one is due: `durable` is what the task made durable,
  /// `wantReply` whether to ask the server for a keepalive back, `waitingForRoom` whether the
  /// thread holds a chunk the task has no room for (it reads no keepalives meanwhile).
  mutating func update(
    durable: LSN, wantReply: Bool, waitingForRoom: Bool = false, now: ContinuousClock.Instant
  ) -> (lsn: LSN, replyRequested: Bool)? {
    let interval = waitingForRoom ? Self.waitingInterval : Self.interval
    let due = lastSent.map { now - $0 >= interval } ?? true
    guard durable != reported || replyOwed || wantReply || due else { return nil }
    reported = durable
    lastSent = now
    replyOwed = false
    return (durable, wantReply)
  }
}
