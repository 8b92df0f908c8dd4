#if canImport(Glibc)
  import Glibc
#endif

/// The one loop that writes a whole buffer to a file descriptor: it writes again after a short
/// write and after `EINTR`, and stops at the first other error. Blocking: call it where a
/// blocking syscall may run (a ``BlockingQueue``, a thread of its own).
public enum WriteAll {
  /// The `write` or `pwrite` that failed, with its `errno`.
  public struct Failure: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    /// `strerror`'s text, such as `No space left on device`.
    public var reason: String { String(cString: strerror(code)) }
    public var description: String { reason }
  }

  /// Writes all of `bytes` to `fd` at its current position (`write`), or at `position` without
  /// moving it (`pwrite`).
  public static func write(
    _ bytes: UnsafeRawBufferPointer, to fd: Int32, at position: Int64? = nil
  ) throws(Failure) {
    guard let base = bytes.baseAddress else { return }
    var done = 0
    while done < bytes.count {
      let n =
        if let position {
          pwrite(fd, base + done, bytes.count - done, off_t(position) + off_t(done))
        } else {
          Glibc.write(fd, base + done, bytes.count - done)
        }
      if n < 0 {
        if errno == EINTR { continue }
        throw Failure(code: errno)
      }
      done += n
    }
  }
}
