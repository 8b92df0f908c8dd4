import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A segment's sparse time index, like Kafka's TimeIndex: entries of (timestamp, offset relative
/// to the segment's base) saying "every record below this offset has a timestamp at or below
/// this one". It answers ListOffsets by timestamp without reading the batches before the answer.
/// Kept in memory and appended to `<base>.timeindex` as 12-byte big-endian pairs.
///
/// Entries are written beside the ``OffsetIndex``'s (same positions, so each entry's offset has
/// an exact file position there) and only when the segment's largest timestamp has grown since
/// the last entry: timestamps and offsets both strictly increase, and a lookup is a binary search.
final class TimeIndex: Sendable {
  struct Entry: Equatable, Sendable {
    /// The largest timestamp of any record below `relativeOffset` in the segment.
    var timestamp: Int64
    var relativeOffset: UInt32
  }

  static let entrySize = 12

  let path: String
  // Appended by the partition's writer, searched by readers on any thread.
  private let state = Mutex<[Entry]>([])
  private let file: PooledFile

  init(path: String, files: DescriptorPool) throws {
    self.path = path
    file = try PooledFile(path: path, flags: O_RDWR | O_CREAT, pool: files)
  }

  var entries: [Entry] { state.withLock { $0 } }
  var last: Entry? { state.withLock { $0.last } }

  /// Loads the entries on disk, keeping only the strictly increasing prefix below
  /// `relativeEnd` (offsets the segment holds); what follows is cut from the file.
  func load(relativeEnd: Int64) throws {
    let bytes = try file.use { fd in
      try FileIO.read(fd, count: Int(try FileIO.size(fd, path: path)), at: 0, path: path)
    }
    var loaded: [Entry] = []
    var i = 0
    while i + Self.entrySize <= bytes.count {
      var timestamp: Int64 = 0
      for k in 0..<8 { timestamp = timestamp << 8 | Int64(bytes[i + k]) }
      var relative: UInt32 = 0
      for k in 8..<12 { relative = relative << 8 | UInt32(bytes[i + k]) }
      if let last = loaded.last, timestamp <= last.timestamp || relative <= last.relativeOffset {
        break
      }
      if Int64(relative) >= relativeEnd { break }
      loaded.append(Entry(timestamp: timestamp, relativeOffset: relative))
      i += Self.entrySize
    }
    state.withLock { $0 = loaded }
    if loaded.count * Self.entrySize != bytes.count { try truncate(keeping: loaded.count) }
  }

  /// Appends an entry if its timestamp is larger than the last one's (else it says nothing new).
  func append(_ entry: Entry) throws {
    let count: Int? = state.withLock { entries in
      if let last = entries.last,
        entry.timestamp <= last.timestamp || entry.relativeOffset <= last.relativeOffset
      {
        return nil
      }
      return entries.count
    }
    guard let count else { return }
    var raw = [UInt8](repeating: 0, count: Self.entrySize)
    withUnsafeBytes(of: entry.timestamp.bigEndian) { raw.replaceSubrange(0..<8, with: $0) }
    withUnsafeBytes(of: entry.relativeOffset.bigEndian) { raw.replaceSubrange(8..<12, with: $0) }
    // Like the offset index, not a write to keep open: recovery rebuilds it from the segment.
    try file.use { fd in
      try raw.withUnsafeBytes {
        try FileIO.writeAll(fd, $0, at: Int64(count * Self.entrySize), path: path)
      }
    }
    state.withLock { $0.append(entry) }
  }

  /// Drops every entry (before a rebuild).
  func reset() throws { try truncate(keeping: 0) }

  private func truncate(keeping count: Int) throws {
    try file.use { fd in
      guard ftruncate(fd, off_t(count * Self.entrySize)) == 0 else {
        throw LogError.io(path: path, operation: "truncate", reason: FileIO.reason())
      }
    }
    state.withLock { $0.removeLast($0.count - min(count, $0.count)) }
  }

  /// The largest indexed offset below which every record is older than `timestamp`: the first
  /// record at or after `timestamp` is at this relative offset or later (0 if no entry says so).
  func offsetBefore(_ timestamp: Int64) -> UInt32 {
    state.withLock { entries in
      var low = 0
      var high = entries.count - 1
      var found: UInt32 = 0
      while low <= high {
        let mid = (low + high) / 2
        if entries[mid].timestamp < timestamp {
          found = entries[mid].relativeOffset
          low = mid + 1
        } else {
          high = mid - 1
        }
      }
      return found
    }
  }

  func sync() throws { try file.sync() }
}
