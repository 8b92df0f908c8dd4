import Synchronization

/// Holds a connector's tasks while it is paused: a source's next send and a sink's next poll
/// wait here, so intake stops while each task keeps its position and its upstream session
/// (a CDC task's replication thread keeps answering the server while its hand-off is full).
public final class PauseGate: Sendable {
  private struct State {
    var paused: Bool
    var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
    var nextWaiter = 0
  }

  private let state: Mutex<State>

  public init(paused: Bool = false) { state = Mutex(State(paused: paused)) }

  public var isPaused: Bool { state.withLock { $0.paused } }

  /// Pauses or resumes; resuming lets every waiting task go on.
  public func set(paused: Bool) {
    let released = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
      s.paused = paused
      guard !paused else { return [] }
      defer { s.waiters.removeAll() }
      return Array(s.waiters.values)
    }
    for waiter in released { waiter.resume() }
  }

  /// Returns at once while running; while paused, waits for a resume. Cancellation (a stopping
  /// task) ends the wait with `CancellationError`.
  public func waitWhilePaused() async throws {
    guard isPaused else { return }
    let id = state.withLock { s -> Int in
      s.nextWaiter += 1
      return s.nextWaiter
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
        let resumeNow = state.withLock { s -> Bool in
          if !s.paused { return true }
          if Task.isCancelled { return true }
          s.waiters[id] = c
          return false
        }
        if resumeNow { c.resume() }
      }
    } onCancel: {
      let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
      waiter?.resume(throwing: CancellationError())
    }
    try Task.checkCancellation()
  }
}
