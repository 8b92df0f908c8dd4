import Synchronization

/// Encoding buffers handed back by the writer threads once their batch is on disk, so the next
/// batch is encoded into memory that is already mapped. A fresh megabyte from `malloc` costs a
/// page fault and a cleared page per 4 KiB (and glibc gives it back to the kernel on free);
/// at 1 MiB batches that was about a third of the CPU an append took.
///
/// Bounded: it keeps at most `maxBytes` of buffers, none larger than `maxBufferBytes`, and
/// ``trimIfIdle()`` (the log's ticker) empties it when nothing was encoded since the last call,
/// so an idle worker holds none of it.
final class BatchBufferPool: Sendable {
  private struct State {
    var buffers: [[UInt8]] = []
    var bytes = 0
    var usedSinceTrim = false
  }

  private let state = Mutex(State())
  let maxBytes: Int
  let maxBufferBytes: Int

  init(maxBytes: Int = 8 << 20, maxBufferBytes: Int = 4 << 20) {
    self.maxBytes = maxBytes
    self.maxBufferBytes = maxBufferBytes
  }

  /// An empty buffer, with the capacity of a recently used one when there is one.
  func take() -> [UInt8] {
    state.withLock { state in
      state.usedSinceTrim = true
      guard let buffer = state.buffers.popLast() else { return [] }
      state.bytes -= buffer.capacity
      return buffer
    }
  }

  /// Keeps `buffer` for a later ``take()`` if it fits the bounds.
  func give(_ buffer: consuming [UInt8]) {
    var buffer = consume buffer
    let capacity = buffer.capacity
    guard capacity > 0, capacity <= maxBufferBytes else { return }
    buffer.removeAll(keepingCapacity: true)
    state.withLock { state in
      guard state.bytes + capacity <= maxBytes else { return }
      state.bytes += capacity
      state.buffers.append(buffer)
    }
  }

  /// Frees every kept buffer if none was taken since the previous call.
  func trimIfIdle() {
    var dropped: [[UInt8]] = []
    state.withLock { state in
      if !state.usedSinceTrim {
        swap(&dropped, &state.buffers)
        state.bytes = 0
      }
      state.usedSinceTrim = false
    }
    dropped.removeAll()  // freed here, outside the lock
  }

  /// Bytes of buffers kept now.
  var keptBytes: Int { state.withLock { $0.bytes } }
}
