import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Crash-safe replacement of a small file: write a temporary sibling, fsync, rename, fsync the
/// directory. Readers see the old or the new content, never a mix.
enum DurableFile {
  static func replace(_ url: URL, with data: Data) throws {
    let temporary = url.appendingPathExtension("tmp")
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw failure("open", temporary.path) }
    defer { close(fd) }
    try data.withUnsafeBytes { raw in
      var done = 0
      while done < raw.count {
        let n = write(fd, raw.baseAddress! + done, raw.count - done)
        if n < 0 {
          if errno == EINTR { continue }
          throw failure("write", temporary.path)
        }
        done += n
      }
    }
    guard fsync(fd) == 0 else { throw failure("fsync", temporary.path) }
    guard rename(temporary.path, url.path) == 0 else { throw failure("rename", url.path) }
    let dir = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dir >= 0 {
      _ = fsync(dir)
      close(dir)
    }
  }

  private static func failure(_ call: String, _ path: String) -> OffsetStoreError {
    OffsetStoreError(message: "\(call) \(path): \(String(cString: strerror(errno)))")
  }
}
