import Foundation
import SluiceCore
import Synchronization

/// Consumer groups' committed offsets, kept in the data dir (`kafka-groups/`, one file per
/// group, replaced atomically and fsynced before OffsetCommit is answered), so they survive a
/// `kill -9`. Reads come from memory; the files are read once at start.
final class GroupOffsetStore: Sendable {
  /// A committed offset with the metadata string the consumer stored beside it.
  struct Committed: Codable, Sendable, Equatable {
    var offset: Int64
    var metadata: String?
    var leaderEpoch: Int32
    var commitTimestamp: Int64
  }

  private struct File: Codable {
    var group: String
    var offsets: [String: [String: Committed]]
  }

  private let folder: URL
  private let io = BlockingQueue(label: "sluice.kafka.group-offsets")
  private let state: Mutex<[String: [TopicPartition: Committed]]>

  init(folder: String) throws {
    self.folder = URL(fileURLWithPath: folder)
    try FileManager.default.createDirectory(at: self.folder, withIntermediateDirectories: true)
    var loaded: [String: [TopicPartition: Committed]] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: folder)
    where name.hasSuffix(".json") {
      guard let data = try DurableFile.contents(of: self.folder.appendingPathComponent(name)),
        let file = try? JSONDecoder().decode(File.self, from: data)
      else { continue }
      var offsets: [TopicPartition: Committed] = [:]
      for (topic, partitions) in file.offsets {
        for (partition, committed) in partitions {
          if let p = Int(partition) { offsets[TopicPartition(topic, p)] = committed }
        }
      }
      loaded[file.group] = offsets
    }
    state = Mutex(loaded)
  }

  var groups: [String] { state.withLock { $0.keys.sorted() } }

  func offsets(of group: String) -> [TopicPartition: Committed] {
    state.withLock { $0[group] ?? [:] }
  }

  /// Stores `offsets` for `group` durably; returns once they are on disk.
  func commit(_ offsets: [TopicPartition: Committed], group: String) async throws {
    state.withLock { all in all[group, default: [:]].merge(offsets) { _, new in new } }
    let url = folder.appendingPathComponent(Self.fileName(group))
    // The group's offsets are read when the write runs, not when it was asked for: two commits
    // of one group may reach the queue in either order, and the write that runs last must hold
    // both (a snapshot taken before would let an older one land last and lose acknowledged
    // offsets at a kill -9).
    try await io.run { [self] in
      let merged = self.state.withLock { $0[group] ?? [:] }
      var file = File(group: group, offsets: [:])
      for (tp, committed) in merged {
        file.offsets[tp.topic, default: [:]]["\(tp.partition)"] = committed
      }
      try DurableFile.replace(url, with: try JSONEncoder().encode(file))
    }
  }

  /// Forgets a deleted topic's offsets in every group (they are rewritten on the next commit).
  func forget(topic: String) {
    state.withLock { all in
      for group in all.keys { all[group] = all[group]!.filter { $0.key.topic != topic } }
    }
  }

  /// Group ids are any string: the file name is the hex of its first 64 bytes and a 64-bit
  /// FNV-1a hash of all of it (the file holds the id itself, so a collision is never misread
  /// as another group: the later group overwrites a file whose id it checks on load).
  static func fileName(_ group: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in group.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    let prefix = group.utf8.prefix(64).map { String(format: "%02x", $0) }.joined()
    return "\(prefix)-\(String(hash, radix: 16)).json"
  }
}
