import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A segment's sparse index, like Kafka's OffsetIndex: entries of (offset relative to the
/// segment's base, byte position of the batch holding it), one every `indexIntervalBytes`.
/// Kept in memory and appended to `<base>.index` as 8-byte big-endian pairs.
final class OffsetIndex: Sendable {
  struct Entry: Equatable, Sendable {
    var relativeOffset: UInt32
    var position: UInt32
  }

  let path: String
  // Appended by the partition's writer, searched by readers on any thread.
  private let state = Mutex<[Entry]>([])
  private let file: PooledFile

  var entries: [Entry] { state.withLock { $0 } }
  var last: Entry? { state.withLock { $0.last } }

  init(path: String, files: DescriptorPool) throws {
    self.path = path
    file = try PooledFile(path: path, flags: O_RDWR | O_CREAT, pool: files)
  }

  /// Loads the entries on disk, keeping only a strictly increasing prefix within `segmentSize`.
  func load(segmentSize: Int64) throws {
    let bytes = try file.use { fd in
      try FileIO.read(fd, count: Int(try FileIO.size(fd, path: path)), at: 0, path: path)
    }
    var loaded: [Entry] = []
    var i = 0
    while i + 8 <= bytes.count {
      let relative =
        UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8
        | UInt32(bytes[i + 3])
      let position =
        UInt32(bytes[i + 4]) << 24 | UInt32(bytes[i + 5]) << 16 | UInt32(bytes[i + 6]) << 8
        | UInt32(bytes[i + 7])
      if let last = loaded.last, relative <= last.relativeOffset || position <= last.position {
        break
      }
      if Int64(position) >= segmentSize { break }
      loaded.append(Entry(relativeOffset: relative, position: position))
      i += 8
    }
    state.withLock { $0 = loaded }
    if loaded.count * 8 != bytes.count { try truncate(keeping: loaded.count) }
  }

  func append(_ entry: Entry) throws {
    var raw = [UInt8](repeating: 0, count: 8)
    withUnsafeBytes(of: entry.relativeOffset.bigEndian) { raw.replaceSubrange(0..<4, with: $0) }
    withUnsafeBytes(of: entry.position.bigEndian) { raw.replaceSubrange(4..<8, with: $0) }
    // Not marked as a write to keep open: the index is rebuilt from the segment when in doubt.
    try file.use { fd in
      try raw.withUnsafeBytes {
        try FileIO.writeAll(fd, $0, at: Int64(state.withLock { $0.count } * 8), path: path)
      }
    }
    state.withLock { $0.append(entry) }
  }

  /// Drops every entry (before a rebuild).
  func reset() throws { try truncate(keeping: 0) }

  private func truncate(keeping count: Int) throws {
    try file.use { fd in
      guard ftruncate(fd, off_t(count * 8)) == 0 else {
        throw LogError.io(path: path, operation: "truncate", reason: FileIO.reason())
      }
    }
    state.withLock { $0.removeLast($0.count - min(count, $0.count)) }
  }

  /// The position of the last indexed batch at or before `relativeOffset` (0 if none).
  func position(atOrBefore relativeOffset: UInt32) -> Int64 {
    state.withLock { entries in Self.position(atOrBefore: relativeOffset, in: entries) }
  }

  private static func position(atOrBefore relativeOffset: UInt32, in entries: [Entry]) -> Int64 {
    var low = 0
    var high = entries.count - 1
    var found: Int64 = 0
    while low <= high {
      let mid = (low + high) / 2
      if entries[mid].relativeOffset <= relativeOffset {
        found = Int64(entries[mid].position)
        low = mid + 1
      } else {
        high = mid - 1
      }
    }
    return found
  }

  func sync() throws { try file.sync() }
}
