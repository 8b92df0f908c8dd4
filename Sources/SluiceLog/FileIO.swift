import Foundation
import SluiceCore

#if canImport(Glibc)
  import Glibc
#endif

/// Thin wrappers over POSIX file calls that throw ``LogError`` with the path and errno text.
enum FileIO {
  static func reason() -> String { String(cString: strerror(errno)) }

  static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
    let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
    guard fd >= 0 else { throw LogError.io(path: path, operation: "open", reason: reason()) }
    return fd
  }

  static func size(_ fd: Int32, path: String) throws -> Int64 {
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      throw LogError.io(path: path, operation: "stat", reason: reason())
    }
    return Int64(st.st_size)
  }

  static func writeAll(
    _ fd: Int32, _ bytes: UnsafeRawBufferPointer, at position: Int64, path: String
  ) throws {
    do throws(WriteAll.Failure) {
      try WriteAll.write(bytes, to: fd, at: position)
    } catch {
      throw LogError.io(path: path, operation: "write", reason: error.reason)
    }
  }

  /// Reads up to `count` bytes at `position` into a new array (shorter at end of file).
  static func read(_ fd: Int32, count: Int, at position: Int64, path: String) throws -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { raw, initialized in
      initialized = read(fd, into: UnsafeMutableRawBufferPointer(raw), at: position)
    }
  }

  /// Reads up to `buffer.count` bytes at `position` into `buffer`; returns how many were read
  /// (fewer at end of file, or after an error).
  static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at position: Int64)
    -> Int
  {
    guard let base = buffer.baseAddress else { return 0 }
    var done = 0
    while done < buffer.count {
      let n = pread(fd, base + done, buffer.count - done, off_t(position) + off_t(done))
      if n < 0 {
        if errno == EINTR { continue }
        break
      }
      if n == 0 { break }
      done += n
    }
    return done
  }

  static func sync(_ fd: Int32, path: String) throws {
    guard fdatasync(fd) == 0 else {
      throw LogError.io(path: path, operation: "fsync", reason: reason())
    }
  }

  /// fsyncs a directory so a created or removed entry in it survives a crash.
  static func syncDirectory(_ path: String) {
    let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = fsync(fd)
    close(fd)
  }

  static func makeDirectory(_ path: String) throws {
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
      throw LogError.notWritable(path: path, reason: (error as NSError).localizedDescription)
    }
  }
}
