import Foundation

/// An ``OffsetStore`` of small JSON files, one per connector, under `<data_dir>/offsets/`.
///
/// Each commit writes a temporary file, fsyncs it and renames it over the old one, so a crash
/// leaves either the old or the new content, never a torn file.
public actor FileOffsetStore: OffsetStore {
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
  private var cache: [String: Entry] = [:]

  public init(directory: String) throws {
    self.directory = URL(fileURLWithPath: directory, isDirectory: true)
    try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
  }

  public func sourcePosition(connector: String) throws -> SourcePosition? {
    try entry(connector).sourcePosition
  }

  public func commitSourcePosition(_ position: SourcePosition, connector: String) throws {
    var e = try entry(connector)
    guard e.sourcePosition != position else { return }
    e.sourcePosition = position
    try write(e, connector: connector)
  }

  public func sinkOffsets(connector: String) throws -> [TopicPartition: Int64] {
    var result: [TopicPartition: Int64] = [:]
    for (key, offset) in try entry(connector).sinkOffsets {
      guard let slash = key.lastIndex(of: "/"), let partition = Int(key[key.index(after: slash)...])
      else {
        continue
      }
      result[TopicPartition(String(key[..<slash]), partition)] = offset
    }
    return result
  }

  public func commitSinkOffsets(_ offsets: [TopicPartition: Int64], connector: String) throws {
    var e = try entry(connector)
    let before = e
    for (tp, offset) in offsets { e.sinkOffsets["\(tp.topic)/\(tp.partition)"] = offset }
    guard e != before else { return }
    try write(e, connector: connector)
  }

  public func remove(connector: String) throws {
    cache[connector] = nil
    let url = fileURL(connector)
    if FileManager.default.fileExists(atPath: url.path) {
      try FileManager.default.removeItem(at: url)
    }
  }

  // MARK: - Files

  private func fileURL(_ connector: String) -> URL {
    directory.appendingPathComponent("\(connector).json")
  }

  private func entry(_ connector: String) throws -> Entry {
    if let cached = cache[connector] { return cached }
    let url = fileURL(connector)
    var e = Entry()
    if let data = FileManager.default.contents(atPath: url.path) {
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
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(e)
    try DurableFile.replace(fileURL(connector), with: data)
    cache[connector] = e
  }
}

/// An offsets file that cannot be read or written.
public struct OffsetStoreError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public var description: String { message }
}
