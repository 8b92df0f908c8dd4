/// A fixed-capacity FIFO: appending to a full buffer overwrites its oldest element, so memory
/// stays bounded however long the worker runs (``MetricsHistory`` keeps one per series).
public struct RingBuffer<Element: Sendable>: Sendable {
  public let capacity: Int
  private var storage: [Element] = []
  /// Where the oldest element is once `storage` is full.
  private var head = 0

  public init(capacity: Int) {
    precondition(capacity > 0, "a ring buffer holds at least one element")
    self.capacity = capacity
    storage.reserveCapacity(capacity)
  }

  public var count: Int { storage.count }
  public var isEmpty: Bool { storage.isEmpty }

  /// Appends `element`, dropping the oldest one when the buffer is full.
  public mutating func append(_ element: Element) {
    if storage.count < capacity {
      storage.append(element)
    } else {
      storage[head] = element
      head = (head + 1) % capacity
    }
  }

  /// The elements, oldest first.
  public var elements: [Element] {
    Array(storage[head...] + storage[..<head])
  }

  /// The newest element.
  public var last: Element? {
    guard !storage.isEmpty else { return nil }
    return storage[(head + storage.count - 1) % storage.count]
  }

  /// Drops elements from the oldest end while `shouldDrop` says so.
  public mutating func removeOldest(while shouldDrop: (Element) -> Bool) {
    let kept = Array(elements.drop(while: shouldDrop))
    guard kept.count != storage.count else { return }
    storage = kept
    head = 0
  }
}
