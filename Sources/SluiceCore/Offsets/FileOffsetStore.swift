import Foundation

/// An ``OffsetStore`` of small JSON files, one per connector, under `<data_dir>/offsets/`.
///
/// Each commit writes a temporary file, fsyncs it and renames it over the old one, so a crash
/// leaves either the old or the new content, never a torn file. A commit returns only after
/// its fsync.
///
/// The files are read and written on a ``BlockingQueue`` of the store's own, never on the
/// cooperative pool. The cache lives on that queue too: each read-modify-write of an entry runs
/// there as one item, in the order the calls came, so two commits for one connector (different
/// sink partitions) cannot interleave and lose one of them.
public final class FileOffsetStore: OffsetStore, @unchecked Sendable {
  private struct Entry: Codable, Equatable {
    var sourcePosition: SourcePosition?
    /// "topic/partition" → next offset.
    var sinkOffsets: [String: Int64] = [:]

    enum CodingKeys: String, CodingKey {
      case sourcePosition = "source_position"
      case sinkOffsets = "sink_offsets"
    }
  }

  private let directory: URL
  private let io = BlockingQueue(label: "sluice.offsets")
  /// Touched only on `io`.
  private var cache: [String: Entry] = [:]

  public init(directory: String) throws {
    self.directory = URL(fileURLWithPath: directory, isDirectory: true)
    try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
  }

  public func sourcePosition(connector: String) async throws -> SourcePosition? {
    try await io.run { try self.entry(connector).sourcePosition }
  }

  public func commitSourcePosition(_ position: SourcePosition, connector: String) async throws {
    try await io.run {
      var e = try self.entry(connector)
      guard e.sourcePosition != position else { return }
      e.sourcePosition = position
      try self.write(e, connector: connector)
    }
  }

  public func sinkOffsets(connector: String) async throws -> [TopicPartition: Int64] {
    let stored = try await io.run { try self.entry(connector).sinkOffsets }
    var result: [TopicPartition: Int64] = [:]
    for (key, offset) in stored {
      guard let slash = key.lastIndex(of: "/"), let partition = Int(key[key.index(after: slash)...])
      else {
        continue
      }
      result[TopicPartition(String(key[..<slash]), partition)] = offset
    }
    return result
  }

  public func commitSinkOffsets(_ offsets: [TopicPartition: Int64], connector: String)
    async throws
  {
    try await io.run {
      var e = try self.entry(connector)
      let before = e
      for (tp, offset) in offsets { e.sinkOffsets["\(tp.topic)/\(tp.partition)"] = offset }
      guard e != before else { return }
      try self.write(e, connector: connector)
    }
  }

  public func clearSourcePosition(connector: String) async throws {
    try await io.run {
      var e = try self.entry(connector)
      guard e.sourcePosition != nil else { return }
      e.sourcePosition = nil
      try self.write(e, connector: connector)
    }
  }

  public func remove(connector: String) async throws {
    try await io.run {
      self.cache[connector] = nil
      let url = self.fileURL(connector)
      if FileManager.default.fileExists(atPath: url.path) {
        try FileManager.default.removeItem(at: url)
      }
    }
  }

  // MARK: - Files (on `io` only)

  private func fileURL(_ connector: String) -> URL {
    directory.appendingPathComponent("\(connector).json")
  }

  private func entry(_ connector: String) throws -> Entry {
    assert(io.isCurrent, "offsets files are read and written on their queue only")
    if let cached = cache[connector] { return cached }
    let url = fileURL(connector)
    var e = Entry()
    // Only a missing file means "nothing committed yet"; a file that cannot be read (EMFILE,
    // EIO, EACCES) is an error, or the connector would start over from the beginning.
    if let data = try DurableFile.contents(of: url) {
      do {
        e = try JSONDecoder().decode(Entry.self, from: data)
      } catch {
        throw OffsetStoreError(message: "cannot read offsets file \(url.path): \(error)")
      }
    }
    cache[connector] = e
    return e
  }

  private func write(_ e: Entry, connector: String) throws {
    assert(io.isCurrent, "offsets files are read and written on their queue only")
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(e)
    try DurableFile.replace(fileURL(connector), with: data)
    // Only a durable write changes what the store answers.
    cache[connector] = e
  }
}

/// An offsets file that cannot be read or written.
public struct OffsetStoreError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public var description: String { message }
}
