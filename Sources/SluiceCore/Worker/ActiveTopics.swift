import Foundation
import Synchronization

/// The topics each connector has used since it was created or its list was reset — Kafka
/// Connect's active topics (KIP-558, `GET /connectors/{c}/topics`): those a source wrote to and
/// those a sink was given partitions of.
///
/// Noting a topic already known costs a lock and a set lookup; a new one is written to
/// `data_dir/connector-topics.json` in the background, so the list survives a restart.
public final class ActiveTopics: Sendable {
  private let topics = Mutex<[String: Set<String>]>([:])
  private let url: URL?
  private let io = BlockingQueue(label: "sluice.active-topics")

  /// The topics kept at `path` (nil: in memory only). A file that cannot be read starts empty:
  /// the list is informative, and it fills again as connectors run.
  public init(path: String?) {
    url = path.map { URL(fileURLWithPath: $0) }
    if let url, let data = try? DurableFile.contents(of: url),
      let loaded = try? JSONDecoder().decode([String: [String]].self, from: data)
    {
      topics.withLock { $0 = loaded.mapValues(Set.init) }
    }
  }

  /// Notes that `connector` used these topics.
  public func note(_ connector: String, _ used: some Sequence<String>) {
    let changed = topics.withLock { all -> [String: Set<String>]? in
      var added = false
      for topic in used where !(all[connector]?.contains(topic) ?? false) {
        all[connector, default: []].insert(topic)
        added = true
      }
      return added ? all : nil
    }
    if changed != nil { save() }
  }

  public func topics(of connector: String) -> [String] {
    topics.withLock { $0[connector].map { $0.sorted() } ?? [] }
  }

  /// Forgets a connector's topics (`PUT …/topics/reset`, or the connector was deleted).
  public func reset(_ connector: String) {
    let changed = topics.withLock { all in all.removeValue(forKey: connector) == nil ? nil : all }
    if changed != nil { save() }
  }

  private func save() {
    guard let url else { return }
    // Each write takes the list as it is then, so the last write holds the latest list
    // whatever order the writes were scheduled in.
    Task { [io, self] in
      try? await io.run {
        let now = self.topics.withLock { $0.mapValues { $0.sorted() } }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try DurableFile.replace(url, with: try encoder.encode(now))
      }
    }
  }
}
