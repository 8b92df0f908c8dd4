import Foundation
import Synchronization

/// What a connector is asked to do, as the admin API sets it — Kafka Connect's target states:
/// run, pause (tasks stay, take no input, keep their position and upstream session) or stop
/// (KIP-875: tasks go away, config and offsets stay).
public enum TargetState: String, Sendable, Codable, CaseIterable {
  case running = "RUNNING"
  case paused = "PAUSED"
  case stopped = "STOPPED"
}

/// The target states that are not RUNNING, kept in `data_dir/connector-states.json` so a paused
/// or stopped connector stays so across a restart of the worker (Kafka Connect keeps them in
/// its config topic). Written atomically on every change; a connector not listed runs.
public final class TargetStateFile: Sendable {
  private let url: URL?
  private let states: Mutex<[String: TargetState]>

  /// The states at `path`; a missing file means every connector runs. Nil `path`: in memory.
  public init(path: String?) throws {
    url = path.map { URL(fileURLWithPath: $0) }
    var loaded: [String: TargetState] = [:]
    if let url, let data = try DurableFile.contents(of: url) {
      do {
        loaded = try JSONDecoder().decode([String: TargetState].self, from: data)
      } catch {
        throw ConfigError(
          file: url.path, line: 1, column: 1, key: "",
          message: "cannot read the connectors' target states: \(error)")
      }
    }
    states = Mutex(loaded)
  }

  public func state(of connector: String) -> TargetState {
    states.withLock { $0[connector] ?? .running }
  }

  /// Records `state` for `connector` (RUNNING forgets it) and writes the file.
  public func set(_ state: TargetState, for connector: String) throws {
    // Written under the lock: two changes at once must not interleave on the file, and the
    // last written must be the latest (the file is a few bytes; the wait is one fsync).
    try states.withLock { all in
      all[connector] = state == .running ? nil : state
      try write(all)
    }
  }

  /// Forgets a deleted connector, so one created later under its name runs.
  public func forget(_ connector: String) throws {
    try states.withLock { all in
      if all.removeValue(forKey: connector) != nil { try write(all) }
    }
  }

  private func write(_ snapshot: [String: TargetState]) throws {
    guard let url else { return }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    try DurableFile.replace(url, with: try encoder.encode(snapshot))
  }
}
