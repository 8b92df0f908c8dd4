import Foundation
import SluiceCore
import SluicePostgres

/// The replication connection on a thread of its own: reads the walsender's messages in
/// chunks and hands them to async code through a bounded stream, and sends standby status
/// updates reporting only the LSN the task says is durable (DESIGN.md §3, first trap).
///
/// libpq is not safe for two threads at once, so reading and feedback both happen on this
/// thread; the task only sets ``confirm(_:)`` and ``requestReply()`` under a lock. The chunks
/// in flight are a ``ChunkHandOff`` value under the same lock: stopping the stream, however
/// often and whenever, cannot upset it.
final class ReplicationStream: @unchecked Sendable {
  /// What the thread needs to connect and start streaming.
  struct Parameters: Sendable {
    var url: String
    var password: String?
    var applicationName: String
    var slot: String
    var publication: String
    /// pgoutput's `messages` option (PostgreSQL 14+) lets heartbeats arrive as transactions.
    var withMessages: Bool
  }

  /// Chunks of messages, in stream order; the stream ends with the error that stopped it.
  let chunks: AsyncThrowingStream<[ReplicationMessage], any Error>
  private let continuation: AsyncThrowingStream<[ReplicationMessage], any Error>.Continuation
  private let parameters: Parameters
  /// Guards the hand-off, the durable LSN and the flags below; the thread waits on it for
  /// room in the stream.
  private let condition = NSCondition()
  /// At most one chunk waits for the task, which holds one more being decoded and one being
  /// made durable: memory stays bounded when topics are slow (peak RSS in the drain benchmark
  /// is close to its 64 MiB target).
  private var handOff = ChunkHandOff(capacity: 1)
  private var durable: LSN
  private var replyWanted = false

  static let maxChunkMessages = 4096
  static let maxChunkBytes = 4 << 20

  init(parameters: Parameters, confirmed: LSN) {
    self.parameters = parameters
    self.durable = confirmed
    let (chunks, continuation) = AsyncThrowingStream.makeStream(
      of: [ReplicationMessage].self, throwing: (any Error).self)
    self.chunks = chunks
    self.continuation = continuation
  }

  /// Starts the thread.
  func start() {
    let thread = Thread { [self] in self.main() }
    thread.name = "sluice-cdc-\(parameters.slot)"
    thread.start()
  }

  /// Everything before `lsn` is durable in topics: PostgreSQL may confirm it.
  func confirm(_ lsn: LSN) {
    condition.withLock { if lsn > durable { durable = lsn } }
  }

  /// Ask the server for a keepalive (after a heartbeat, so the slot position catches up).
  func requestReply() { condition.withLock { replyWanted = true } }

  /// The task took a chunk; the thread may read another.
  func consumed() {
    condition.withLock {
      handOff.consumed()
      condition.signal()
    }
  }

  /// Ends the thread (within about 100 ms) and closes the connection. Safe to call any number
  /// of times, from any thread.
  func stop() {
    condition.withLock {
      handOff.stop()
      condition.broadcast()
    }
  }

  private var isStopped: Bool { condition.withLock { handOff.turn == .stop } }

  /// Waits up to `timeout` for room in the stream; on ``ChunkHandOff/Turn/handOver`` the chunk
  /// is counted as waiting for the task.
  private func reserveRoom(timeout: TimeInterval) -> ChunkHandOff.Turn {
    condition.withLock {
      let deadline = Date(timeIntervalSinceNow: timeout)
      while handOff.turn == .wait, condition.wait(until: deadline) {}
      return handOff.reserve()
    }
  }

  // MARK: - The thread

  private func main() {
    do {
      let connection = try PostgresConnection.changeCapture(
        url: parameters.url, password: parameters.password,
        applicationName: parameters.applicationName, replication: true)
      var options =
        "proto_version '1', publication_names \(quoteLiteral(quoteIdentifier(parameters.publication)))"
      if parameters.withMessages { options += ", messages 'true'" }
      // 0/0: the server starts at the slot's confirmed_flush_lsn, the last durable point.
      try connection.startCopyBoth(
        "START_REPLICATION SLOT \(quoteIdentifier(parameters.slot)) LOGICAL 0/0 (\(options))")
      var feedback = StandbyFeedback()
      while !isStopped {
        var chunk: [ReplicationMessage] = []
        var bytes = 0
        reading: while chunk.count < Self.maxChunkMessages && bytes < Self.maxChunkBytes {
          switch try connection.readCopyData(timeoutMilliseconds: chunk.isEmpty ? 100 : 0) {
          case .data(let data):
            let message = try ReplicationMessage.decode(data)
            if case .keepalive(_, _, let replyRequested) = message {
              feedback.keepalive(replyRequested: replyRequested)
            }
            chunk.append(message)
            bytes += data.count
          case .none:
            break reading
          case .ended:
            throw PostgresError(sqlState: nil, message: "the server ended replication")
          }
        }
        if !chunk.isEmpty {
          // Wait for room, answering the server meanwhile so it does not time us out.
          var turn = reserveRoom(timeout: 0.1)
          while turn == .wait {
            try sendFeedback(connection, &feedback, waitingForRoom: true)
            turn = reserveRoom(timeout: 0.1)
          }
          if turn == .stop { break }
          continuation.yield(chunk)
        }
        try sendFeedback(connection, &feedback)
      }
      continuation.finish()
    } catch {
      continuation.finish(throwing: error)
    }
  }

  /// Sends the status update ``StandbyFeedback`` says is due, if any.
  private func sendFeedback(
    _ connection: PostgresConnection, _ feedback: inout StandbyFeedback,
    waitingForRoom: Bool = false
  ) throws {
    let (durable, wantReply) = condition.withLock {
      defer { replyWanted = false }
      return (self.durable, replyWanted)
    }
    guard
      let due = feedback.update(
        durable: durable, wantReply: wantReply, waitingForRoom: waitingForRoom, now: .now)
    else { return }
    let update = StandbyStatusUpdate(
      durable: due.lsn,
      clientTime: PostgresEpoch.postgresMicroseconds(fromUnixMilliseconds: currentTimeMillis()),
      replyRequested: due.replyRequested)
    try connection.putCopyData(update.bytes)
  }
}
