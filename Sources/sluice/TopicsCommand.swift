import ArgumentParser
import Foundation
import SluiceCore

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
    let topics = try APIClient.json(data, from: "/topics").array ?? []
    print("TOPIC\tPARTITION\tSTART\tEND")
    for topic in topics {
      let name = topic["name"]?.string ?? "?"
      for p in topic["partitions"]?.array ?? [] {
        print(
          "\(name)\t\(shown(p["partition"]))\t\(shown(p["start_offset"]))\t\(shown(p["end_offset"]))"
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
    let statuses: [JSONValue]
    if let connector {
      let path = "/connectors/\(APIClient.escape(connector))/status"
      let data = try await client.get(path)
      if json { return FileHandle.standardOutput.write(data) }
      statuses = [try APIClient.json(data, from: path)]
    } else {
      let path = "/connectors?expand=status"
      let data = try await client.get(path)
      if json { return FileHandle.standardOutput.write(data) }
      let all = try APIClient.json(data, from: path).object ?? [:]
      statuses = all.keys.sorted().compactMap { all[$0]?["status"] }.filter { $0.object != nil }
    }
    if let info = try? await client.getJSON("/"), let store = info["store"]?.object {
      print(Self.storeLine(store))
    }
    if statuses.isEmpty { print("no connectors") }
    for s in statuses {
      let connector = s["connector"]
      print(
        "\(shown(s["name"])) (\(shown(s["type"])) \(shown(s["connector_type"]))): \(shown(connector?["state"]))"
      )
      if let trace = connector?["trace"]?.string { print("  error: \(trace)") }
      for task in s["tasks"]?.array ?? [] {
        var line = "  task \(shown(task["id"])): \(shown(task["state"]))"
        if let restarts = task["restarts"]?.integer, restarts > 0 {
          line += " (restarted \(restarts)×)"
        }
        print(line)
        if let trace = task["trace"]?.string { print("    \(trace)") }
        for (key, value) in (task["details"]?.object?.members ?? []).sorted(by: {
          $0.key < $1.key
        }) {
          print("    \(key): \(value.plainText)")
        }
      }
    }
  }
}

extension StatusCommand {
  /// `store: kafka (brokers 10.0.0.1:9092, 10.0.0.2:9092; cluster abc)` or `store: embedded`.
  static func storeLine(_ store: JSONObject) -> String {
    var line = "store: \(shown(store["kind"]))"
    var parts: [String] = []
    if let brokers = store["brokers"]?.array?.compactMap(\.string), !brokers.isEmpty {
      parts.append("brokers " + brokers.joined(separator: ", "))
    }
    if let cluster = store["cluster_id"]?.string { parts.append("cluster \(cluster)") }
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
    let groups = try APIClient.json(data, from: "/groups").array ?? []
    if groups.isEmpty { return print("no consumer groups") }
    print("GROUP\tSTATE\tMEMBERS\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG")
    for group in groups {
      let head =
        "\(shown(group["group"]))\t\(shown(group["state"]))\t\(shown(group["members"], else: "0"))"
      let partitions = group["partitions"]?.array ?? []
      if partitions.isEmpty { print("\(head)\t-\t-\t-\t-\t-") }
      for p in partitions {
        print(
          "\(head)\t\(shown(p["topic"]))\t\(shown(p["partition"]))\t\(shown(p["committed_offset"], else: "-"))\t\(shown(p["end_offset"], else: "-"))\t\(shown(p["lag"], else: "-"))"
        )
      }
    }
  }
}

/// A field of an API answer in a table: a string's text, other values as JSON, `absent` when
/// the answer has no such field.
func shown(_ value: JSONValue?, else absent: String = "?") -> String {
  value?.plainText ?? absent
}
