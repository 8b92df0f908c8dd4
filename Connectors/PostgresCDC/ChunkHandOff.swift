/// The replication thread's hand-off of chunks to the task, as a value (STYLE.md §1): how
/// many chunks wait in the stream for the task, and whether the stream was stopped.
///
/// It replaces a `DispatchSemaphore` whose count a stop had to bump: when the thread's wait
/// took that extra count, the semaphore was freed below its initial value and libdispatch
/// trapped ("deallocated while in use"), killing the worker whenever a send failed (an
/// offsets file that cannot be written). A count that never goes below zero and a stop that is
/// a flag cannot be over-released, and there is nothing to trap on when the stream goes away.
struct ChunkHandOff: Equatable {
  /// What the thread does with the chunk it has read.
  enum Turn: Equatable {
    /// Yield it: it has been counted as waiting for the task.
    case handOver
    /// No room yet: answer the server and ask again.
    case wait
    /// The task stopped the stream: drop it and end.
    case stop
  }

  /// How many chunks may wait for the task (which holds one more being decoded and one being
  /// made durable), so memory stays bounded when topics are slow.
  let capacity: Int
  private(set) var waiting = 0
  private(set) var stopped = false

  init(capacity: Int) {
    precondition(capacity > 0, "a hand-off needs room for one chunk")
    self.capacity = capacity
  }

  /// Whether the thread may hand over a chunk now, without counting it.
  var turn: Turn {
    if stopped { return .stop }
    return waiting < capacity ? .handOver : .wait
  }

  /// Called by the thread before it yields a chunk; counts it when there is room.
  mutating func reserve() -> Turn {
    let turn = self.turn
    if turn == .handOver { waiting += 1 }
    return turn
  }

  /// The task took a chunk out of the stream. A call without a chunk waiting changes nothing.
  mutating func consumed() {
    if waiting > 0 { waiting -= 1 }
  }

  /// The task is done with the stream; every later turn is ``Turn/stop``. Idempotent.
  mutating func stop() {
    stopped = true
  }
}
