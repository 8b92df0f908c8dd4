import ArgumentParser
import Foundation

/// `sluice topics`: lists topics with each partition's start and end offsets.
struct TopicsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "topics",
    abstract: "List topics and their partitions' offsets (from a running worker).")

  @OptionGroup var options: APIOptions
  @Flag(help: "Print the API's JSON instead of a table.") var json = false

  func run() async throws {
    let data = try await APIClient(options).get("/topics")
    if json {
      FileHandle.standardOutput.write(data)
      return
    }
    let topics = (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    print("TOPIC\tPARTITION\tSTART\tEND")
    for topic in topics {
      let name = topic["name"] as? String ?? "?"
      for p in topic["partitions"] as? [[String: Any]] ?? [] {
        print(
          "\(name)\t\(p["partition"] ?? "?")\t\(p["start_offset"] ?? "?")\t\(p["end_offset"] ?? "?")"
        )
      }
    }
  }
}

/// `sluice status [CONNECTOR]`: connector and task states, as Kafka Connect reports them.
struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status", abstract: "Show connector and task status (from a running worker).")

  @OptionGroup var options: APIOptions
  @Argument(help: "One connector's name; all connectors when omitted.") var connector: String?
  @Flag(help: "Print the API's JSON instead of a summary.") var json = false

  func run() async throws {
    let client = try APIClient(options)
    let statuses: [[String: Any]]
    if let connector {
      let data = try await client.get("/connectors/\(APIClient.escape(connector))/status")
      if json { return FileHandle.standardOutput.write(data) }
      statuses = [(try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]]
    } else {
      let data = try await client.get("/connectors?expand=status")
      if json { return FileHandle.standardOutput.write(data) }
      let all = (try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]]) ?? [:]
      statuses = all.keys.sorted().compactMap { all[$0]?["status"] as? [String: Any] }
    }
    if let info = try? JSONSerialization.jsonObject(with: await client.get("/")) as? [String: Any],
      let store = info["store"] as? [String: Any]
    {
      print(Self.storeLine(store))
    }
    if statuses.isEmpty { print("no connectors") }
    for s in statuses {
      let connector = s["connector"] as? [String: Any] ?? [:]
      print(
        "\(s["name"] ?? "?") (\(s["type"] ?? "?") \(s["connector_type"] ?? "?")): \(connector["state"] ?? "?")"
      )
      if let trace = connector["trace"] as? String { print("  error: \(trace)") }
      for task in s["tasks"] as? [[String: Any]] ?? [] {
        var line = "  task \(task["id"] ?? "?"): \(task["state"] ?? "?")"
        if let restarts = task["restarts"] as? Int, restarts > 0 {
          line += " (restarted \(restarts)×)"
        }
        print(line)
        if let trace = task["trace"] as? String { print("    \(trace)") }
        for (key, value) in (task["details"] as? [String: Any] ?? [:]).sorted(by: {
          $0.key < $1.key
        }) {
          print("    \(key): \(value)")
        }
      }
    }
  }
}

extension StatusCommand {
  /// `store: kafka (brokers 10.0.0.1:9092, 10.0.0.2:9092; cluster abc)` or `store: embedded`.
  static func storeLine(_ store: [String: Any]) -> String {
    var line = "store: \(store["kind"] ?? "?")"
    var parts: [String] = []
    if let brokers = store["brokers"] as? [String], !brokers.isEmpty {
      parts.append("brokers " + brokers.joined(separator: ", "))
    }
    if let cluster = store["cluster_id"] as? String { parts.append("cluster \(cluster)") }
    if !parts.isEmpty { line += " (" + parts.joined(separator: "; ") + ")" }
    return line
  }
}

/// `sluice groups`: the Kafka listener's consumer groups, each partition's committed offset,
/// end offset and lag (as `kafka-consumer-groups --describe` shows them).
struct GroupsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "groups",
    abstract: "List Kafka consumer groups and their committed offsets (from a running worker).")

  @OptionGroup var options: APIOptions
  @Flag(help: "Print the API's JSON instead of a table.") var json = false

  func run() async throws {
    let data = try await APIClient(options).get("/groups")
    if json { return FileHandle.standardOutput.write(data) }
    let groups = (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    if groups.isEmpty { return print("no consumer groups") }
    print("GROUP\tSTATE\tMEMBERS\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG")
    for group in groups {
      let head = "\(group["group"] ?? "?")\t\(group["state"] ?? "?")\t\(group["members"] ?? 0)"
      let partitions = group["partitions"] as? [[String: Any]] ?? []
      if partitions.isEmpty { print("\(head)\t-\t-\t-\t-\t-") }
      for p in partitions {
        print(
          "\(head)\t\(p["topic"] ?? "?")\t\(p["partition"] ?? "?")\t\(p["committed_offset"] ?? "-")\t\(p["end_offset"] ?? "-")\t\(p["lag"] ?? "-")"
        )
      }
    }
  }
}
