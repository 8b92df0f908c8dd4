import Foundation
import SluiceCore

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - KIP-875 offsets of the file connectors

/// The file source's offsets in the shape of Kafka's FileStreamSource:
/// `{"partition": {"filename": "<path>"}, "offset": {"position": <byte offset>}}`, the byte
/// after the last line whose record is durable.
///
/// A PATCH or DELETE commits a position of a *new generation* (``FilePosition``): the runtime
/// drops, as replays, records whose position is not past the last one in their partition, so
/// lines read again after a rewind must sort after everything written before it. The
/// generation is what a rotation bumps too; it is not shown.
extension FileSourceConnector {
  var offsetPartition: [String: JSONValue] { ["filename": .string(config.path)] }

  func offsets(committed: SourcePosition?) async throws -> [ConnectorOffset] {
    guard let position = committed.flatMap(FilePosition.init) else { return [] }
    return [
      ConnectorOffset(
        partition: offsetPartition, offset: ["position": .int(Int64(position.offset))])
    ]
  }

  /// Moves where the task resumes to the given byte of the file the committed position is in
  /// (the file at `path` when nothing is committed); `"offset": null` is a reset.
  func alterOffsets(_ offsets: [ConnectorOffset], committed: SourcePosition?) async throws
    -> SourceOffsetChange
  {
    let entry = try SourceOffsetShape.single(offsets, partition: offsetPartition)
    guard let offset = entry.offset else { return try await resetOffsets(committed: committed) }
    guard offset.count == 1, let byte = offset["position"]?.integer, byte >= 0 else {
      throw ConnectorOffsetsError(
        "a file source's offset is {\"position\": <byte offset, 0 or more>}, got \(JSONValue.object(JSONObject(offset)).jsonText)"
      )
    }
    let current = committed.flatMap(FilePosition.init)
    guard let inode = current?.inode ?? FileSourceTask.inode(of: config.path) else {
      throw ConnectorOffsetsError(
        "\(config.path) does not exist, so there is no byte \(byte) to resume at; DELETE the offsets to read it from its beginning once it exists"
      )
    }
    if inode == FileSourceTask.inode(of: config.path), let size = Self.size(of: config.path),
      UInt64(byte) > size
    {
      throw ConnectorOffsetsError(
        "position \(byte) is past the end of \(config.path) (\(size) bytes)")
    }
    return .commit(
      FilePosition(generation: (current?.generation ?? 0) + 1, offset: UInt64(byte), inode: inode)
        .sourcePosition)
  }

  /// The task reads the file at `path` from its first byte, whatever `start` says.
  func resetOffsets(committed: SourcePosition?) async throws -> SourceOffsetChange {
    let current = committed.flatMap(FilePosition.init)
    // A file that is not there yet (inode 0) is read from its start once it is.
    let inode = FileSourceTask.inode(of: config.path) ?? 0
    return .commit(
      FilePosition(generation: (current?.generation ?? 0) + 1, offset: 0, inode: inode)
        .sourcePosition)
  }

  static func size(of path: String) -> UInt64? {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_size) : nil
  }
}

/// The file sink's offsets: the consumer group's, except with `format: json`, where the file
/// is its own offset store (each line names topic, partition and offset) and the partitions it
/// holds resume after their last line. Those cannot be moved without rewriting the file: a
/// PATCH or DELETE that touches them is refused with what to do instead.
extension FileSinkConnector {
  func storedOffsets(of partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    guard config.format == .json, !partitions.isEmpty else { return [:] }
    let path = config.path
    return try await BlockingQueue(label: "sluice.file-sink.offsets").run {
      let fd = open(path, O_RDONLY | O_CLOEXEC)
      guard fd >= 0 else {
        if errno == ENOENT { return [:] }
        throw FileSinkError(message: "cannot open \(path): \(String(cString: strerror(errno)))")
      }
      defer { close(fd) }
      return FileSinkTask.lastOffsets(in: fd, for: Set(partitions))
    }
  }

  func alterOffsets(_ offsets: [TopicPartition: Int64?]) async throws {
    let held = try await storedOffsets(of: Array(offsets.keys))
    guard !held.isEmpty else { return }
    let named = held.keys.sorted().map(\.description).joined(separator: ", ")
    throw ConnectorOffsetsError(
      "the file sink (format: json) resumes each partition after the last offset its file \(config.path) holds, and it holds \(named); move or truncate the file (or remove those lines), then alter or reset the offsets"
    )
  }
}
