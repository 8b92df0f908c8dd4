import Foundation
import SluiceCore

#if canImport(Glibc)
  import Glibc
#endif

/// Tails a file line by line into a topic, like Kafka's FileStreamSource, with the byte offset
/// (and file generation) as source position, so it resumes exactly after a restart and follows
/// rotation by rename (`app.log` → `app.log.1`, new `app.log`) or truncation.
///
/// Lines go to partition 0 so the topic keeps the file's order. Only complete lines are sent.
final class FileSourceTask: SourceTask {
  let config: FileSourceConfig
  let context: any SourceTaskContext
  private let warnings = WarningRateLimiter()
  /// `pread` and `stat` of the tailed file block: they run here, not on the cooperative pool.
  private let io = BlockingQueue(label: "sluice.file-source")

  init(config: FileSourceConfig, context: any SourceTaskContext) {
    self.config = config
    self.context = context
  }

  func run() async throws {
    var (file, generation) = try await openAtResumePoint()
    context.setDetail("file", config.path)
    while !Task.isCancelled {
      let lines = try await io.run { [file, config] in
        try file.readLines(maxLines: config.batchLines, maxLineBytes: config.maxLineBytes)
      }
      if !lines.isEmpty {
        var records: [SourceRecord] = []
        records.reserveCapacity(lines.count)
        for line in lines {
          let position = FilePosition(generation: generation, offset: line.end, inode: file.inode)
          if line.length > config.maxLineBytes {
            records.append(try overlong(line, at: position))
          } else {
            records.append(
              SourceRecord(
                topic: config.topic, partition: 0, key: nil, value: line.bytes,
                position: position.sourcePosition))
          }
        }
        _ = try await context.send(consume records)
        context.setDetail(
          "position",
          "\(FilePosition(generation: generation, offset: file.offset, inode: file.inode))")
        continue
      }
      // At the end of what is written. Has the file been rotated or truncated under us?
      if let current = Self.inode(of: config.path), current != file.inode {
        // Renamed away: everything written to the old file before the rename has been read.
        context.logger.info(
          "file rotated; following the new file", metadata: ["path": "\(config.path)"])
        generation += 1
        file = try TailedFile(path: config.path, offset: 0)
        continue
      }
      if file.size < file.offset {
        context.logger.warning(
          "file truncated; reading it from the start", metadata: ["path": "\(config.path)"])
        generation += 1
        file = try TailedFile(path: config.path, offset: 0)
        continue
      }
      try await Task.sleep(for: config.pollInterval)
    }
  }

  /// An overlong line as a record error (DESIGN.md §6): with `errors.tolerance: all` a record in
  /// the dead-letter topic holding its first KiB and why, at the line's position, so the lines
  /// after it go on and a restart does not repeat it; otherwise the task fails with the reason.
  private func overlong(_ line: TailedFile.Line, at position: FilePosition) throws -> SourceRecord {
    let start = line.end - UInt64(line.length) - 1
    let reason =
      "line at byte \(start) of \(config.path) is \(line.length) bytes, longer than max_line_bytes (\(config.maxLineBytes))"
    guard let topic = config.deadLetterTopic else { throw FileSourceError.lineTooLong(reason) }
    if let line = warnings.line("overlong", "sent to the dead-letter topic: \(reason)") {
      context.logger.warning("\(line)")
    }
    return SourceRecord(
      topic: topic, partition: 0, key: nil, value: Array(line.bytes.prefix(1024)),
      headers: [
        RecordHeader(DeadLetterHeaders.connector, context.connectorName),
        RecordHeader(DeadLetterHeaders.reason, reason),
        RecordHeader("file.path", config.path),
        RecordHeader("file.offset", "\(start)"),
        RecordHeader("file.line_bytes", "\(line.length)"),
      ], position: position.sourcePosition)
  }

  /// Opens the file the committed position refers to, even if it has been rotated away since.
  private func openAtResumePoint() async throws -> (TailedFile, UInt64) {
    while Self.inode(of: config.path) == nil {
      context.setDetail("waiting_for", config.path)
      try await Task.sleep(for: config.pollInterval)
    }
    context.setDetail("waiting_for", nil)
    guard let committed = context.committedPosition.flatMap(FilePosition.init) else {
      let file = try TailedFile(path: config.path, offset: 0)
      if config.startAtEnd {
        return (try TailedFile(path: config.path, offset: file.size), 0)
      }
      return (file, 0)
    }
    if Self.inode(of: config.path) == committed.inode {
      return (try TailedFile(path: config.path, offset: committed.offset), committed.generation)
    }
    if let rotated = Self.sibling(of: config.path, withInode: committed.inode) {
      context.logger.info("resuming in the rotated file", metadata: ["path": "\(rotated)"])
      return (try TailedFile(path: rotated, offset: committed.offset), committed.generation)
    }
    context.logger.warning(
      "the file of the committed position is gone; starting the current file from its beginning",
      metadata: ["committed": "\(committed)"])
    return (try TailedFile(path: config.path, offset: 0), committed.generation + 1)
  }

  static func inode(of path: String) -> UInt64? {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
  }

  /// A file in the same folder with this inode: where a rotation renamed the old file to.
  static func sibling(of path: String, withInode inode: UInt64) -> String? {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent()
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.map { folder.appendingPathComponent($0).path }.first {
      Self.inode(of: $0) == inode
    }
  }
}
