import Synchronization

/// A value handed to one task, which takes it by move: a source's prepared send, given to the
/// task that writes it, stays the only copy of its records, so the write moves their bytes into
/// the log's records rather than copying them (``SourceTaskContext/send(_:)``). A closure that
/// captured the value itself would keep a second reference to it for as long as it lives.
public final class Handover<Value: Sendable>: Sendable {
  private let value: Mutex<Value?>

  public init(_ value: consuming Value) {
    self.value = Mutex(.some(value))
  }

  /// The value; only the first call may make it (a second is a programming error).
  public func take() -> Value {
    guard let taken = value.withLock({ $0.take() }) else {
      preconditionFailure("a Handover's value is taken once")
    }
    return taken
  }
}
