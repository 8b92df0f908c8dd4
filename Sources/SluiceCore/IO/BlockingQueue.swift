import Dispatch

/// A serial queue of its own for blocking syscalls (`fsync`, `fdatasync`, file reads and
/// writes), so they never hold one of the few threads of Swift's cooperative pool
/// (DESIGN.md §7). Work runs in the order it was submitted, one item at a time, and the
/// caller awaits its result through a continuation.
public final class BlockingQueue: Sendable {
  private let queue: DispatchQueue
  /// Marks the queue, so code can tell it runs there (``isCurrent``).
  private let marker = DispatchSpecificKey<Bool>()

  public init(label: String) {
    queue = DispatchQueue(label: label)
    queue.setSpecific(key: marker, value: true)
  }

  /// Whether the caller runs on this queue: code that blocks checks it with a precondition.
  public var isCurrent: Bool { DispatchQueue.getSpecific(key: marker) == true }

  /// Runs `work` on the queue after everything submitted before it; returns its result or
  /// throws its error. The work runs to the end even if the caller is cancelled, so a write
  /// and its sync are never cut apart.
  public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result { try work() }) }
    }
  }
}
