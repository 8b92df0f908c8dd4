import Synchronization

/// A counter of appends that readers can wait on: the store bumps it after each durable append,
/// and a caught-up reader sleeps in ``wait(after:timeout:)`` instead of polling.
public final class AppendSignal: Sendable {
  private struct State {
    var version: UInt64 = 0
    var nextWaiter = 0
    var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    /// Waiters given up on (timeout) before their continuation was registered.
    var abandoned: Set<Int> = []
  }

  private let state = Mutex(State())

  public init() {}

  public var version: UInt64 { state.withLock { $0.version } }

  /// Bumps the version and wakes every waiter.
  public func signal() {
    let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
      s.version &+= 1
      defer { s.waiters.removeAll() }
      return Array(s.waiters.values)
    }
    for c in woken { c.resume() }
  }

  /// Returns the version once it is past `after`, or when `timeout` passes.
  public func wait(after: UInt64, timeout: Duration) async -> UInt64 {
    let id = state.withLock { s -> Int? in
      if s.version != after { return nil }
      s.nextWaiter += 1
      return s.nextWaiter
    }
    guard let id else { return version }
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
          let resumeNow = self.state.withLock { s -> Bool in
            if s.abandoned.remove(id) != nil || s.version != after { return true }
            s.waiters[id] = c
            return false
          }
          if resumeNow { c.resume() }
        }
      }
      group.addTask { try? await Task.sleep(for: timeout) }
      await group.next()
      group.cancelAll()
      let pending = state.withLock { s -> CheckedContinuation<Void, Never>? in
        if let c = s.waiters.removeValue(forKey: id) { return c }
        s.abandoned.insert(id)
        return nil
      }
      pending?.resume()
    }
    // A waiter woken normally may have left an `abandoned` mark it no longer needs.
    state.withLock { _ = $0.abandoned.remove(id) }
    return version
  }
}
