import Synchronization

/// Lets the admin API restart one task in place (`POST …/tasks/{t}/restart`): the task's runner
/// runs the task's body through ``run(_:)``, which cancels the body when a restart is asked
/// for — the task stops as it does at a graceful stop, committing what it wrote — and the
/// runner starts it again without leaving its loop.
public final class TaskRestartSignal: Sendable {
  private struct State {
    var requested = false
    var waiter: CheckedContinuation<Void, Never>?
  }

  private let state = Mutex(State())

  public init() {}

  /// Asks the running body to stop so the runner starts it again.
  public func request() {
    let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
      s.requested = true
      defer { s.waiter = nil }
      return s.waiter
    }
    waiter?.resume()
  }

  /// Runs `body` until it returns, or until a restart is requested (then it is cancelled and
  /// awaited). Returns whether a restart ended it; the request is then used up.
  public func run(_ body: @escaping @Sendable () async throws -> Void) async throws -> Bool {
    try await withThrowingTaskGroup(of: Bool.self) { group in
      group.addTask {
        try await body()
        return false
      }
      group.addTask { await self.waitForRequest() }
      defer { group.cancelAll() }
      // The first to finish decides; the other is cancelled and awaited by the group.
      let restarted = try await group.next() ?? false
      if restarted {
        group.cancelAll()
        // The body stops as at a graceful stop; how it ends does not matter to a restart.
        while true {
          do { guard try await group.next() != nil else { break } } catch {}
        }
        _ = consumeRequest()
      }
      return restarted
    }
  }

  private func consumeRequest() -> Bool {
    state.withLock { s in
      defer { s.requested = false }
      return s.requested
    }
  }

  /// Waits for a request; true when one came, false when cancelled first.
  private func waitForRequest() async -> Bool {
    await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let now = state.withLock { s -> Bool in
          if s.requested || Task.isCancelled { return true }
          s.waiter = c
          return false
        }
        if now { c.resume() }
      }
      return state.withLock { $0.requested }
    } onCancel: {
      let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
        defer { s.waiter = nil }
        return s.waiter
      }
      waiter?.resume()
    }
  }
}
