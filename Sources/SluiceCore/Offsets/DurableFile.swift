import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Crash-safe replacement of a small file: write a temporary sibling, fsync, rename, fsync the
/// directory. Readers see the old or the new content, never a mix.
///
/// Every call blocks on the disk: call it from a thread of your own (``FileOffsetStore`` uses
/// its ``BlockingQueue``), never from the cooperative pool.
public enum DurableFile {
  public static func replace(_ url: URL, with data: Data) throws {
    let temporary = url.appendingPathExtension("tmp")
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw failure(errno, "open", temporary.path, writing: url) }
    defer { close(fd) }
    try data.withUnsafeBytes { raw in
      do throws(WriteAll.Failure) {
        try WriteAll.write(raw, to: fd)
      } catch {
        throw failure(error.code, "write", temporary.path, writing: url)
      }
    }
    guard fsync(fd) == 0 else { throw failure(errno, "fsync", temporary.path, writing: url) }
    guard rename(temporary.path, url.path) == 0 else {
      throw failure(errno, "rename", url.path, writing: url)
    }
    let dir = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dir >= 0 {
      _ = fsync(dir)
      close(dir)
    }
  }

  /// The file's bytes; nil only when it does not exist (any other failure is thrown).
  public static func contents(of url: URL) throws -> Data? {
    let fd = open(url.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      if errno == ENOENT { return nil }
      throw failure(errno, "open", url.path, reading: url)
    }
    defer { close(fd) }
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw failure(errno, "read", url.path, reading: url)
      }
      if n == 0 { return data }
      data.append(contentsOf: buffer[0..<n])
    }
  }

  private static func failure(_ code: Int32, _ call: String, _ path: String, writing url: URL)
    -> OffsetStoreError
  {
    OffsetStoreError(
      message:
        "cannot write offsets file \(url.path): \(call) \(path): \(String(cString: strerror(code)))"
    )
  }

  private static func failure(_ code: Int32, _ call: String, _ path: String, reading url: URL)
    -> OffsetStoreError
  {
    OffsetStoreError(
      message:
        "cannot read offsets file \(url.path): \(call) \(path): \(String(cString: strerror(code)))"
    )
  }
}
