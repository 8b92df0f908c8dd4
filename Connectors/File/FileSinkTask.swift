import Foundation
import SluiceCore

#if canImport(Glibc)
  import Glibc
#endif

/// Appends records to a file as JSON lines (DESIGN.md §5's record form), like Kafka's
/// FileStreamSink, exactly once.
///
/// The file is its own offset store: every line carries topic, partition and offset, so on start
/// the task drops a torn last line (a write cut by a crash) and resumes each partition after the
/// last offset the file holds. Each `put` is one `write` followed by `fdatasync`, on a
/// ``BlockingQueue`` of the task's own (never on the cooperative pool); `put` returns only
/// after the sync, so the worker commits offsets only for records that are on disk.
/// With `format: value` only the values are written and delivery is at-least-once.
final class FileSinkTask: SinkTask {
  let config: FileSinkConfig
  let context: any SinkTaskContext
  private let fd: Int32
  /// Where the file's blocking calls run: the reads of `open`, and each put's write and sync.
  private let io = BlockingQueue(label: "sluice.file-sink")

  init(config: FileSinkConfig, context: any SinkTaskContext) throws {
    self.config = config
    self.context = context
    let folder = URL(fileURLWithPath: config.path).deletingLastPathComponent().path
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    fd = Glibc.open(config.path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw FileSinkError(
        message: "cannot open \(config.path): \(String(cString: strerror(errno)))")
    }
  }

  deinit { Glibc.close(fd) }

  func open(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    try await io.run {
      try self.truncateTornLine()
      guard self.config.format == .json else { return [:] }
      return try self.lastOffsets(for: Set(partitions))
    }
  }

  func put(_ records: [Record]) async throws {
    var text = ""
    for record in records {
      switch config.format {
      case .json: text += RecordJSON.line(for: record)
      case .value: text += String(decoding: record.value ?? [], as: UTF8.self)
      }
      text += "\n"
    }
    try await io.run { [bytes = Array(text.utf8)] in try self.writeAndSync(bytes) }
  }

  /// One `write` of a put's lines, then `fdatasync`: blocking, so only on `io`.
  private func writeAndSync(_ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { raw in
      do throws(WriteAll.Failure) {
        try WriteAll.write(raw, to: fd)
      } catch {
        throw FileSinkError(message: "cannot write \(config.path): \(error.reason)")
      }
    }
    guard fdatasync(fd) == 0 else {
      throw FileSinkError(
        message: "cannot sync \(config.path): \(String(cString: strerror(errno)))")
    }
  }

  // MARK: - Recovery

  /// A crash during a write can leave a last line without its newline: remove it, the records
  /// in it are delivered again.
  private func truncateTornLine() throws {
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_size > 0 else { return }
    let size = Int64(st.st_size)
    var end = size
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    while end > 0 {
      let start = max(0, end - Int64(chunk.count))
      let n = chunk.withUnsafeMutableBytes {
        pread(fd, $0.baseAddress, Int(end - start), off_t(start))
      }
      guard n > 0 else { break }
      if let last = chunk[0..<n].lastIndex(of: 0x0A) {
        let keep = start + Int64(last) + 1
        if keep < size {
          context.logger.warning(
            "removing a torn last line",
            metadata: ["file": "\(config.path)", "bytes": "\(size - keep)"])
          guard ftruncate(fd, off_t(keep)) == 0 else {
            throw FileSinkError(
              message: "cannot truncate \(config.path): \(String(cString: strerror(errno)))")
          }
        }
        return
      }
      end = start
    }
    // No newline at all: the whole file is one torn line.
    context.logger.warning(
      "removing a torn last line", metadata: ["file": "\(config.path)", "bytes": "\(size)"])
    _ = ftruncate(fd, 0)
  }

  /// Next offset per partition, from the last line of each partition in the file (read backwards).
  private func lastOffsets(for wanted: Set<TopicPartition>) throws -> [TopicPartition: Int64] {
    let found = Self.lastOffsets(in: fd, for: wanted)
    if !found.isEmpty {
      context.logger.info("resuming from the file's own offsets", metadata: ["offsets": "\(found)"])
    }
    return found
  }

  /// Next offset per partition of `wanted` that the file open at `fd` holds lines of (blocking;
  /// the offsets API reads them too).
  static func lastOffsets(in fd: Int32, for wanted: Set<TopicPartition>) -> [TopicPartition: Int64]
  {
    var found: [TopicPartition: Int64] = [:]
    var st = stat()
    guard fstat(fd, &st) == 0 else { return [:] }
    var end = Int64(st.st_size)
    var carry: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 256 << 10)
    while end > 0 && found.count < wanted.count {
      let start = max(0, end - Int64(chunk.count))
      let n = chunk.withUnsafeMutableBytes {
        pread(fd, $0.baseAddress, Int(end - start), off_t(start))
      }
      guard n > 0 else { break }
      var bytes = Array(chunk[0..<n]) + carry
      // Keep the first (possibly partial) line for the next round unless at the file start.
      var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
      if start > 0, let first = bytes.firstIndex(of: 0x0A) {
        carry = Array(bytes[..<first])
        bytes = Array(bytes[(first + 1)...])
        lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
      } else if start > 0 {
        carry = bytes
        lines = []
      }
      for line in lines.reversed() {
        guard let (tp, offset) = Self.position(in: Array(line)), wanted.contains(tp),
          found[tp] == nil
        else {
          continue
        }
        found[tp] = offset + 1
      }
      end = start
    }
    return found
  }

  /// Topic, partition and offset of one JSON line written by this sink.
  static func position(in line: [UInt8]) -> (TopicPartition, Int64)? {
    guard case .object(let object)? = JSONValue.parse(line),
      let topic = object["topic"]?.string,
      let partition = object["partition"]?.integer.flatMap({ Int(exactly: $0) }),
      let offset = object["offset"]?.integer
    else { return nil }
    return (TopicPartition(topic, partition), offset)
  }
}

/// Why the file sink cannot write.
struct FileSinkError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}
