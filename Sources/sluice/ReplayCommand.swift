import ArgumentParser
import Foundation
import SluiceCore

/// `sluice replay SINK --to-offset N | --to-time TIME [--partition P]`: moves a sink connector
/// back so it delivers again from an offset or a time; `sluice replay CDC_SOURCE --to-lsn L |
/// --to-offset N | --to-time TIME` moves a PostgreSQL CDC source with a `replay_window` back to
/// an LSN its slot still holds (``lookCDC(status:client:name:)``).
///
/// It works through the admin API the way Kafka Connect's KIP-875 does it (so `api.auth` and
/// TLS apply): stop the connector (offsets change only while it is STOPPED), PATCH its offsets,
/// and put it back in the state it was in; a failure half-way puts it back too. By time, each
/// partition's offset comes from the log's time index (`GET /topics/{t}/offsets?timestamp=`).
struct ReplayCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replay",
    abstract:
      "Move a sink connector back so it delivers again from an offset or a time, or a CDC source with a replay_window back to an LSN.",
    discussion: """
      Every partition of the sink's topics moves (only partition P with --partition). \
      --to-offset N sets each to N, clamped to what the log keeps; --to-time (ISO 8601, \
      like 2026-12-01T10:00:00Z, or milliseconds since the epoch) sets each to its first \
      record at or after that time. The connector is stopped, its offsets altered, and it is \
      resumed (or paused again, or left stopped, as it was). Records from there on are \
      delivered again: an at-least-once sink (HTTP) sends them again, the PostgreSQL sink's \
      upsert mode absorbs them. \
      A PostgreSQL CDC source with a replay_window moves back as a whole to an LSN its slot \
      still holds: --to-lsn 0/16B3748, --to-offset N (the LSN as an integer, as GET \
      /connectors/{c}/offsets shows it), or --to-time (the source.lsn of the first change at \
      or after the time in the topics it wrote). The changes that committed after that LSN \
      are written to the topics again: duplicates, on purpose, for every sink that reads them. \
      Other source connectors are not replayed: their records are in the topics already, so \
      replay the sinks that read them.
      """)

  @OptionGroup var options: APIOptions

  @Argument(help: "The sink connector's (or CDC source's) name.") var connector: String

  @Option(
    name: .customLong("to-offset"),
    help: "Deliver again from this offset (a CDC source: this LSN, as an integer).")
  var toOffset: Int64?

  @Option(
    name: .customLong("to-lsn"),
    help: "A CDC source only: write again the changes that committed after this LSN (0/16B3748).")
  var toLSN: String?

  @Option(
    name: .customLong("to-time"),
    help: "Deliver again from the first record at or after this time (ISO 8601 or epoch ms).")
  var toTime: String?

  @Option(help: "Only this partition (default: every partition of the sink's topics).")
  var partition: Int?

  func validate() throws {
    switch [toOffset != nil, toTime != nil, toLSN != nil].filter({ $0 }).count {
    case 0:
      throw ValidationError("give --to-offset N or --to-time TIME (a CDC source: or --to-lsn L)")
    case 1: break
    default: throw ValidationError("give one of --to-offset, --to-time and --to-lsn, not two")
    }
    if let toLSN, CDCReplayLSN.parse(toLSN) == nil {
      throw ValidationError(
        "--to-lsn '\(toLSN)' is not an LSN: give PostgreSQL's form, like 0/16B3748")
    }
    if let toOffset, toOffset < 0 {
      throw ValidationError("--to-offset must be 0 or more, got \(toOffset)")
    }
    if let partition, partition < 0 {
      throw ValidationError("--partition must be 0 or more, got \(partition)")
    }
    if let toTime, Self.milliseconds(toTime) == nil {
      throw ValidationError(
        "--to-time '\(toTime)' is not a time: give ISO 8601 (2026-12-01T10:00:00Z, 2026-12-01T11:00:00.250+01:00) or milliseconds since the epoch"
      )
    }
  }

  // Split in steps, each its own function: Swift 6.3.1's optimizer crashed splitting the
  // coroutine of a `run()` that did all of it (`swift build -c release`, signal 11).
  func run() async throws {
    let client = try APIClient(options)
    let name = APIClient.escape(connector)
    let status = try await Self.object(client, "/connectors/\(name)/status", connector: connector)
    if status["type"]?.string == "source", status["connector_type"]?.string == "postgres-cdc" {
      try await replaySource(status: status, client: client, name: name)
      return
    }
    let found = try await look(status: status, client: client, name: name)
    try await replay(found, client: client, name: name)
  }

  private func replaySource(status: JSONValue, client: APIClient, name: String) async throws {
    let found = try await lookCDC(status: status, client: client, name: name)
    try await replayCDC(found, client: client, name: name)
  }

  /// What the worker says before anything changes.
  private struct Found {
    var state: String
    var target: ReplayPlan.Target
    var partitions: [ReplayPlan.Partition]
  }

  private var target: ReplayPlan.Target {
    if let toOffset { return .offset(toOffset) }
    return .time(Self.milliseconds(toTime ?? "") ?? 0)
  }

  /// The sink's state and partitions; checked before the stop, so a replay that cannot be
  /// done stops nothing.
  private func look(status: JSONValue, client: APIClient, name: String) async throws -> Found {
    let state = Self.state(of: status)
    if status["type"]?.string == "source" {
      throw Failure(
        ReplaySourceRefusal.message(
          connector: connector, connectorType: status["connector_type"]?.string))
    }
    if toLSN != nil {
      throw Failure("cannot replay \(connector): --to-lsn is for a PostgreSQL CDC source")
    }
    let info = try await Self.object(client, "/connectors/\(name)", connector: connector)
    let target = self.target
    let partitions = try await Self.partitions(
      of: Self.topics(of: info), only: partition, for: target, connector: name, client: client)
    do {
      _ = try ReplayPlan.make(partitions, to: target, timeText: toTime ?? "")
    } catch {
      throw Failure("cannot replay \(connector): \(error)")
    }
    return Found(state: state, target: target, partitions: partitions)
  }

  /// Stops the sink, alters its offsets and puts it back as it was (on failure too).
  private func replay(_ found: Found, client: APIClient, name: String) async throws {
    if found.state != "STOPPED" {
      // Answered once the tasks have ended and committed what they delivered.
      _ = try await client.put("/connectors/\(name)/stop")
      print("\(connector): stopped (was \(found.state))")
    }
    do {
      let plan = try await planAfterStop(found, client: client, name: name)
      try await alter(plan, client: client, name: name)
    } catch {
      let restored = await restore(found.state, client: client, name: name)
      throw Failure("cannot replay \(connector): \(error)\n\(restored)")
    }
    print(await restore(found.state, client: client, name: name))
  }

  /// The plan with the offsets as the stop left them: a running sink commits only now and then.
  private func planAfterStop(_ found: Found, client: APIClient, name: String) async throws
    -> ReplayPlan
  {
    let committed = try await Self.committedOffsets(client, name)
    var partitions = found.partitions
    for i in partitions.indices {
      partitions[i].current =
        committed[
          Key(topic: partitions[i].topic, partition: partitions[i].partition)]
    }
    return try ReplayPlan.make(partitions, to: found.target, timeText: toTime ?? "")
  }

  static func state(of status: JSONValue) -> String {
    status["connector"]?["state"]?.string ?? "RUNNING"
  }

  private static func topics(of info: JSONValue) -> [String] {
    (info["config"]?["topics"]?.string ?? "")
      .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
  }

  // MARK: - Alter, restore

  /// Alters the offsets that change (the connector is STOPPED), saying what moves where.
  private func alter(_ plan: ReplayPlan, client: APIClient, name: String) async throws {
    let changing = plan.moves.filter(\.changes)
    for move in plan.moves {
      let from = move.from.map(String.init) ?? "none committed"
      print(
        "  \(move.topic)/\(move.partition): \(from) → \(move.to)\(move.note.map { " (\($0))" } ?? "")"
      )
    }
    guard !changing.isEmpty else {
      return print("\(connector): every partition is already there; nothing changed")
    }
    let body: JSONValue = .object([
      "offsets": .array(
        changing.map { move in
          .object([
            "partition": .object([
              "kafka_topic": .string(move.topic), "kafka_partition": .int(Int64(move.partition)),
            ]),
            "offset": .object(["kafka_offset": .int(move.to)]),
          ])
        })
    ])
    _ = try await client.patch("/connectors/\(name)/offsets", json: Data(body.jsonBytes))
    print("\(connector): offsets of \(changing.count) partition(s) altered")
  }

  /// Puts the connector back as it was: paused again, left stopped, or else resumed (a FAILED
  /// connector too: a replay is a fresh start). Says what it did, or why it could not.
  func restore(_ state: String, client: APIClient, name: String) async -> String {
    let (path, done): (String?, String) =
      switch state {
      case "STOPPED": (nil, "left STOPPED as it was; resume it to deliver")
      case "PAUSED": ("pause", "PAUSED again as it was; resume it to deliver")
      default: ("resume", "resumed")
      }
    guard let path else { return "\(connector): \(done)" }
    do {
      _ = try await client.put("/connectors/\(name)/\(path)")
      return "\(connector): \(done)"
    } catch {
      return "\(connector): could not be put back to \(state) (\(error)); it is STOPPED"
    }
  }

  // MARK: - What the worker says

  /// Each partition of the sink's topics (only `only` when given) with its bounds, the sink's
  /// committed offset and, by time, the offset of the time.
  private static func partitions(
    of topics: [String], only: Int?, for target: ReplayPlan.Target, connector name: String,
    client: APIClient
  ) async throws -> [ReplayPlan.Partition] {
    let committed = try await committedOffsets(client, name)
    var result: [ReplayPlan.Partition] = []
    for topic in topics {
      let escaped = APIClient.escape(topic)
      var path: String
      if case .time(let ms) = target {
        path = "/topics/\(escaped)/offsets?timestamp=\(ms)"
        if let only { path += "&partition=\(only)" }
      } else {
        path = "/topics/\(escaped)"
      }
      let response = try await client.exchange(path, method: "GET")
      // A topic nothing has written to yet has nothing to replay.
      if response.status == 404 { continue }
      guard (200..<300).contains(response.status) else {
        throw Failure(APIClient.describe(response, method: "GET", path: path))
      }
      let object = JSONValue.parse(Array(response.body))
      for p in object?["partitions"]?.array ?? [] {
        guard let index = p["partition"]?.integer.map({ Int($0) }), only == nil || only == index
        else { continue }
        let start = p["start_offset"]?.integer ?? 0
        let end = p["end_offset"]?.integer ?? 0
        result.append(
          ReplayPlan.Partition(
            topic: topic, partition: index, start: start, end: end,
            current: committed[Key(topic: topic, partition: index)],
            atTime: p["offset"]?.integer))
      }
    }
    if result.isEmpty, let only {
      throw Failure(
        "\(name) reads no partition \(only): its topics are \(topics.joined(separator: ", "))")
    }
    return result
  }

  private struct Key: Hashable {
    var topic: String
    var partition: Int
  }

  /// The sink's next offset per partition, from `GET /connectors/{c}/offsets`.
  private static func committedOffsets(_ client: APIClient, _ name: String) async throws
    -> [Key: Int64]
  {
    let data = try await client.get("/connectors/\(name)/offsets")
    var result: [Key: Int64] = [:]
    for entry in JSONValue.parse(Array(data))?["offsets"]?.array ?? [] {
      guard let topic = entry["partition"]?["kafka_topic"]?.string,
        let index = entry["partition"]?["kafka_partition"]?.integer.map({ Int($0) }),
        let offset = entry["offset"]?["kafka_offset"]?.integer
      else { continue }
      result[Key(topic: topic, partition: index)] = offset
    }
    return result
  }

  /// A JSON object the API answers for the connector; 404 is an unknown connector.
  static func object(_ client: APIClient, _ path: String, connector: String) async throws
    -> JSONValue
  {
    let response = try await client.exchange(path, method: "GET")
    if response.status == 404 {
      throw Failure(
        "unknown connector '\(connector)': the worker at \(client.baseURL) has no connector of that name (`sluice status` lists them)"
      )
    }
    guard (200..<300).contains(response.status) else {
      throw Failure(APIClient.describe(response, method: "GET", path: path))
    }
    return JSONValue.parse(Array(response.body)) ?? .object([:])
  }

  /// Milliseconds since the epoch of ISO 8601 text (with or without fractional seconds, `Z`
  /// or an offset), or of a plain integer.
  static func milliseconds(_ text: String) -> Int64? {
    if let ms = Int64(text), ms >= 0 { return ms }
    for options: ISO8601DateFormatter.Options in [
      [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds],
    ] {
      let formatter = ISO8601DateFormatter()
      formatter.formatOptions = options
      if let date = formatter.date(from: text) {
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
      }
    }
    return nil
  }
}
