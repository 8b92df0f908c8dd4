import Foundation
import SluiceCore

/// `sluice replay CDC_CONNECTOR --to-lsn L | --to-offset N | --to-time TIME`: moves a PostgreSQL
/// CDC source back to an LSN its slot can still decode, so the changes that committed after it
/// are written to the topics again.
///
/// Only a connector with a `replay_window` can move back: without one, Sluice confirms each
/// LSN to PostgreSQL as soon as its changes are durable, and a slot never decodes from before
/// its confirmed LSN. By time, the LSN is found in the topics the connector wrote
/// (`GET /connectors/{c}/topics`): in each partition, the first record at or after the time
/// (the log's time index, `GET /topics/{t}/offsets?timestamp=`) and that change's `source.lsn`
/// from its Debezium envelope; the smallest of them. The move itself is the PATCH of the
/// connector's offsets, which decides (and refuses what the slot no longer holds); around it
/// the connector is stopped and put back as it was, as a sink's replay does.
extension ReplayCommand {
  /// What the worker says about a CDC connector before anything changes.
  struct CDCFound {
    var state: String
    /// Where the replay goes: changes that committed after this LSN are written again.
    var lsn: UInt64
    /// How `lsn` was found, for the output.
    var origin: String
  }

  /// Checks the connector has a window and works out the LSN, or says why not.
  func lookCDC(status: JSONValue, client: APIClient, name: String) async throws -> CDCFound {
    let info = try await Self.object(client, "/connectors/\(name)", connector: connector)
    let config = info["config"]
    // The YAML file's key, or the Kafka Connect (Debezium) form's.
    let window = (config?["replay_window"] ?? config?["replay.window"])?.string
    guard CDCReplayLSN.isWindow(window) else {
      throw Failure(
        ReplaySourceRefusal.message(connector: connector, connectorType: "postgres-cdc"))
    }
    if partition != nil {
      throw Failure(
        "cannot replay \(connector): --partition does not apply to a CDC source, which moves as a whole (its slot has one position)"
      )
    }
    let state = Self.state(of: status)
    if let toLSN, let lsn = CDCReplayLSN.parse(toLSN) {
      return CDCFound(state: state, lsn: lsn, origin: "--to-lsn \(toLSN)")
    }
    if let toOffset {
      return CDCFound(state: state, lsn: UInt64(toOffset), origin: "--to-offset \(toOffset)")
    }
    let ms = Self.milliseconds(toTime ?? "") ?? 0
    let (lsn, origin) = try await lsnAtTime(ms, client: client, name: name)
    return CDCFound(state: state, lsn: lsn, origin: origin)
  }

  /// Stops the connector, PATCHes its offsets to the LSN and puts it back as it was (on
  /// failure too).
  func replayCDC(_ found: CDCFound, client: APIClient, name: String) async throws {
    if found.state != "STOPPED" {
      _ = try await client.put("/connectors/\(name)/stop")
      print("\(connector): stopped (was \(found.state))")
    }
    do {
      try await alterCDC(found, client: client, name: name)
    } catch {
      let restored = await restore(found.state, client: client, name: name)
      throw Failure("cannot replay \(connector): \(error)\n\(restored)")
    }
    print(await restore(found.state, client: client, name: name))
  }

  private func alterCDC(_ found: CDCFound, client: APIClient, name: String) async throws {
    // The partition as the connector shows it (`{"server": …}`); none without a slot.
    let data = try await client.get("/connectors/\(name)/offsets")
    guard let entry = JSONValue.parse(Array(data))?["offsets"]?.array?.first,
      let partition = entry["partition"]?.object
    else {
      throw Failure(
        "the connector has no replication slot yet, so there is nothing to move back")
    }
    let shown = entry["offset"]
    let from = shown?["lsn_text"]?.string ?? "?"
    let current = shown?["lsn"]?.integer.flatMap { UInt64(exactly: $0) }
    // An LSN past Int64.max is refused by the worker (its offsets are JSON integers).
    let body: JSONValue = .object([
      "offsets": .array([
        .object([
          "partition": .object(partition),
          "offset": .object(["lsn": .int(Int64(clamping: found.lsn))]),
        ])
      ])
    ])
    _ = try await client.patch("/connectors/\(name)/offsets", json: Data(body.jsonBytes))
    let to = CDCReplayLSN.text(found.lsn)
    // Asked for explicitly, so done; but said, since it is the opposite of a replay.
    let what =
      if let current, found.lsn > current {
        "forward: the changes that committed up to \(to) are skipped, never written"
      } else {
        "the changes that committed after \(to) are written to the topics again"
      }
    print("\(connector): \(from) → \(to) (\(found.origin)); \(what)")
  }

  /// The smallest `source.lsn` of the first change at or after `ms` in each partition of the
  /// topics the connector wrote.
  private func lsnAtTime(_ ms: Int64, client: APIClient, name: String) async throws
    -> (UInt64, String)
  {
    let data = try await client.get("/connectors/\(name)/topics")
    let topics = (JSONValue.parse(Array(data))?[connector]?["topics"]?.array ?? [])
      .compactMap(\.string).sorted()
    guard !topics.isEmpty else {
      throw Failure(
        "cannot replay \(connector) by time: it has written to no topic yet (GET /connectors/\(name)/topics)"
      )
    }
    var best: (lsn: UInt64, at: String)?
    for topic in topics {
      let escaped = APIClient.escape(topic)
      let response = try await client.exchange(
        "/topics/\(escaped)/offsets?timestamp=\(ms)", method: "GET")
      if response.status == 404 { continue }
      guard (200..<300).contains(response.status) else {
        throw Failure(
          APIClient.describe(response, method: "GET", path: "/topics/\(escaped)/offsets"))
      }
      let offsets = JSONValue.parse(Array(response.body))
      for p in offsets?["partitions"]?.array ?? [] {
        guard let index = p["partition"]?.integer, let offset = p["offset"]?.integer else {
          continue
        }
        // Tombstones and records of other writers carry no `source.lsn`: read on a little.
        let records = try await client.get(
          "/topics/\(escaped)/records?partition=\(index)&offset=\(offset)&limit=50")
        let list = JSONValue.parse(Array(records))?.array ?? []
        for record in list {
          guard let lsn = CDCReplayLSN.sourceLSN(ofValue: record["value"]) else { continue }
          if best == nil || lsn < best!.lsn {
            best = (
              lsn,
              "\(topic)/\(index) offset \(record["offset"]?.integer ?? offset)"
            )
          }
          break
        }
      }
    }
    guard let best else {
      throw Failure(
        "cannot replay \(connector): no change at or after \(toTime ?? "") in \(topics.joined(separator: ", ")): every record kept is older, so there is nothing to write again"
      )
    }
    // The change's own LSN is before its transaction's commit LSN: a replay to it writes that
    // transaction again, and every later one.
    return (
      best.lsn,
      "the first change at or after \(toTime ?? ""), \(best.at), has source.lsn \(CDCReplayLSN.text(best.lsn))"
    )
  }
}
