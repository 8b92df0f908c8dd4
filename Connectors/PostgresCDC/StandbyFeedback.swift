/// When the replication thread tells PostgreSQL how far it may forget WAL (a standby status
/// update), as a value (STYLE.md §1): ``ReplicationStream`` asks it after every read and
/// sends what it returns.
///
/// An update goes out when the durable LSN moved, when the server asked for a reply in a
/// keepalive, when a heartbeat wants the slot's position to catch up, or when `interval`
/// passed — PostgreSQL drops a walsender that is silent for `wal_sender_timeout`.
struct StandbyFeedback {
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
  /// `wantReply` whether to ask the server for a keepalive back.
  mutating func update(
    durable: LSN, wantReply: Bool, interval: Duration, now: ContinuousClock.Instant
  ) -> (lsn: LSN, replyRequested: Bool)? {
    let due = lastSent.map { now - $0 >= interval } ?? true
    guard durable != reported || replyOwed || wantReply || due else { return nil }
    reported = durable
    lastSent = now
    replyOwed = false
    return (durable, wantReply)
  }
}
