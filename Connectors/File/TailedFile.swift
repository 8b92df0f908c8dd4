import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One open file being tailed: reads whole lines from a byte offset, keeping a partial last line
/// back until its newline arrives. The descriptor stays open across a rename, so the lines
/// written before a rotation are still read from the old file.
final class TailedFile: @unchecked Sendable {
  // @unchecked: one file source task uses it, one call at a time, on that task's queue.
  let path: String
  let inode: UInt64
  private(set) var offset: UInt64
  private let fd: Int32
  /// The start of the line being read (at most `maxLineBytes` of it) …
  private var pending: [UInt8] = []
  /// … and its whole length so far, which may be longer.
  private var pendingLength = 0

  /// A complete line: its bytes (the first `maxLineBytes` when it is longer), its whole length
  /// and the offset just past its newline.
  struct Line {
    var bytes: [UInt8]
    var length: Int
    var end: UInt64
  }

  /// Opens `path` (or fails with the reason) and seeks to `offset`.
  init(path: String, offset: UInt64) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileSourceError.cannotOpen(path, String(cString: strerror(errno))) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      close(fd)
      throw FileSourceError.cannotOpen(path, String(cString: strerror(errno)))
    }
    self.fd = fd
    self.path = path
    self.inode = UInt64(st.st_ino)
    self.offset = offset
  }

  deinit { close(fd) }

  /// The file's current size.
  var size: UInt64 {
    var st = stat()
    return fstat(fd, &st) == 0 ? UInt64(st.st_size) : 0
  }

  /// Up to `maxLines` complete lines from the current offset, each with the offset just past
  /// its newline. `\r\n` endings lose the `\r`. A partial last line stays unread. Of a line
  /// longer than `maxLineBytes` only the first `maxLineBytes` are kept in memory, so one huge
  /// line cannot exhaust it; the caller sees its whole length.
  func readLines(maxLines: Int, maxBytes: Int = 1 << 20, maxLineBytes: Int) throws -> [Line] {
    var lines: [Line] = []
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    var scanned = 0
    while lines.count < maxLines && scanned < maxBytes {
      // `pendingLength` counts the raw bytes from `offset` up to where the last read stopped.
      let chunkStart = offset + UInt64(pendingLength)
      let n = buffer.withUnsafeMutableBytes {
        pread(fd, $0.baseAddress, $0.count, off_t(chunkStart))
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw FileSourceError.readFailed(path, String(cString: strerror(errno)))
      }
      if n == 0 { break }
      scanned += n
      var start = 0
      var i = 0
      while i < n {
        if buffer[i] == 0x0A {
          keep(buffer[start..<i], limit: maxLineBytes)
          var length = pendingLength
          if pending.last == 0x0D && pending.count == pendingLength {
            pending.removeLast()
            length -= 1
          }
          let end = chunkStart + UInt64(i + 1)
          lines.append(Line(bytes: pending, length: length, end: end))
          pending.removeAll(keepingCapacity: pending.count <= 64 << 10)
          pendingLength = 0
          offset = end
          start = i + 1
          if lines.count >= maxLines { return lines }
        }
        i += 1
      }
      keep(buffer[start..<n], limit: maxLineBytes)
    }
    return lines
  }

  private func keep(_ bytes: ArraySlice<UInt8>, limit: Int) {
    let room = max(0, limit - pending.count)
    pending.append(contentsOf: bytes.prefix(room))
    pendingLength += bytes.count
  }
}

/// Why the file source cannot go on.
enum FileSourceError: Error, CustomStringConvertible {
  case cannotOpen(String, String)
  case readFailed(String, String)
  case lineTooLong(String)

  var description: String {
    switch self {
    case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
    case .readFailed(let path, let reason): "cannot read \(path): \(reason)"
    case .lineTooLong(let reason):
      "\(reason); set errors.tolerance: all to send such lines to the dead-letter topic"
    }
  }
}
