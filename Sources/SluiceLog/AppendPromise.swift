import Synchronization

/// The outcome of one queued append (the batch's base offset, or what failed it), set once by
/// the writer thread (``GroupCommitter``) and awaited by the appender, before or after it is
/// set: the appender may queue its next batch first (``PendingWrite``).
final class AppendPromise: Sendable {
  private enum State {
    case waiting(CheckedContinuation<Int64, any Error>?)
    case done(Result<Int64, any Error>)
  }

  private let state = Mutex<State>(.waiting(nil))

  /// Sets the outcome (the first call only) and wakes an appender waiting for it.
  func resume(with result: Result<Int64, any Error>) {
    let waiter: CheckedContinuation<Int64, any Error>? = state.withLock { state in
      guard case .waiting(let waiter) = state else { return nil }
      state = .done(result)
      return waiter
    }
    waiter?.resume(with: result)
  }

  /// The outcome, once set. Awaited by one appender.
  func value() async throws -> Int64 {
    try await withCheckedThrowingContinuation { continuation in
      let ready: Result<Int64, any Error>? = state.withLock { state in
        switch state {
        case .done(let result): return result
        case .waiting:
          state = .waiting(continuation)
          return nil
        }
      }
      if let ready { continuation.resume(with: ready) }
    }
  }
}
