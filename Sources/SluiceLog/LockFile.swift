import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `<data dir>/.lock`, held with `flock` for the life of the log so two workers never write one
/// data dir. The kernel releases it when the process dies, so a `kill -9` leaves no stale lock.
final class LockFile: @unchecked Sendable {
  // @unchecked: `fd` is set once in init and closed once in `release`, both by the owner.
  private var fd: Int32

  init(directory: String) throws {
    let path = directory + "/.lock"
    let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw LogError.notWritable(path: path, reason: FileIO.reason()) }
    if flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let holder =
        (try? FileIO.read(fd, count: 32, at: 0, path: path)).map {
          String(decoding: $0, as: UTF8.self)
        } ?? "?"
      close(fd)
      throw LogError.locked(
        directory: directory, pid: holder.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    let pid = Array("\(getpid())\n".utf8)
    _ = ftruncate(fd, 0)
    try pid.withUnsafeBytes { try FileIO.writeAll(fd, $0, at: 0, path: path) }
    self.fd = fd
  }

  func release() {
    guard fd >= 0 else { return }
    close(fd)
    fd = -1
  }

  deinit { release() }
}
